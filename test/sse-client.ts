/** An SSE client for the tests of the live streams: the frames read so far, read until a condition holds. */
import { expect } from 'vitest';

export interface Frame {
  event: string | undefined;
  id: string | undefined;
  data: string;
}

/** An open event stream: its frames so far, read until a condition holds. */
export async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const answer = await fetch(url, { headers, signal: controller.signal });
  expect(answer.status).toBe(200);
  const reader = answer.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const frames = (): Frame[] =>
    text
      .split('\n\n')
      .filter((frame) => /^data: /m.test(frame))
      .map((frame) => ({ event: /^event: (.*)$/m.exec(frame)?.[1], id: /^id: (.*)$/m.exec(frame)?.[1], data: /^data: (.*)$/m.exec(frame)![1]! }));
  return {
    frames,
    /** the messages of the `log` events (or of each record of the `logs` events) */
    messages: () =>
      frames().flatMap((frame) =>
        frame.event === 'log' ? [(JSON.parse(frame.data) as { message: string }).message] : frame.event === 'logs' ? (JSON.parse(frame.data) as { message: string }[]).map((record) => record.message) : [],
      ),
    async until(done: () => boolean): Promise<void> {
      const timer = setTimeout(() => controller.abort(), 20_000);
      try {
        while (!done()) {
          const chunk = await reader.read();
          if (chunk.done) break;
          text += decoder.decode(chunk.value, { stream: true });
        }
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => controller.abort(),
  };
}
