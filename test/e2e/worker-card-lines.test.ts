/**
 * A worker card's lines follow its heartbeats (issue 10: workers and their lines shown live). The
 * card re-reads a worker's lines at most every 5 s; a heartbeat inside that window was skipped,
 * so its lines stayed off the card until the worker's next heartbeat: 20 s later by default, or
 * never for a worker's last flush as it exits. Now the read is made when the window ends.
 */
import { expect, it } from 'vitest';
import { errorsOf } from './browser.js';
import { describeInBrowser, useHubAndBrowser } from './suite.js';

describeInBrowser('a worker card', () => {
  const suite = useHubAndBrowser();

  const heartbeat = async (worker: string, message: string) => {
    const answer = await fetch(`${suite.hub.url}/api/workers/${worker}/heartbeat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'idle', logs: [{ timestamp: Date.now() / 1000, level: 'INFO', message }] }),
    });
    expect(answer.status).toBe(200);
  };

  it("shows the lines of a heartbeat that came soon after the card read the worker's lines", async () => {
    await heartbeat('quick-worker', 'first heartbeat line');
    const page = await suite.tab('#/workers');
    const card = page.locator('[data-testid="worker-card"][data-worker-id="quick-worker"]');
    const cardLines = card.getByTestId('worker-lines');
    await cardLines.getByText('first heartbeat line').waitFor({ timeout: 20_000 });
    // right after the card's read, as a worker's final flush follows its last heartbeat; no
    // heartbeat comes after it
    await heartbeat('quick-worker', 'last flush line');
    await cardLines.getByText('last flush line').waitFor({ timeout: 20_000 });
    expect(await cardLines.textContent()).toMatch(/first heartbeat line.*last flush line/s);
    expect(errorsOf(page)).toEqual([]);
  });
});
