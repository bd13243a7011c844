/**
 * Regenerates docs/screenshots/*.png: the web UI in Debian's chromium (1400×900, the same
 * playwright-core launch as the e2e tests), on a real hub with real runs and real workers made
 * here: local `bin/runlog run`s, two `bin/runlog worker`s whose GPUs the stand-in nvidia-smi
 * (test/fixtures) reads from corpus captures, tasks queued to them, and a 1M-line run written
 * straight into the store. Not run by `npm test`. Takes about a minute:
 *
 *   npm run screenshots      (npm run build && vite-node test/e2e/screenshots.ts)
 *
 * Needs /usr/bin/chromium, /usr/bin/python3 with python3-tqdm, and ../shared/corpus/nvidia_smi.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startHub, type RunningHub } from '../../src/server/listen.js';
import { corpusDir } from '../corpus.js';
import { cli, FIXTURES, getJson, PYTHON, ROOT, tempDir, waitFor, type CliResult } from '../helpers.js';
import { launchBrowser, openTab, runOnHub, writeBigRun } from './browser.js';

const OUT = join(ROOT, 'docs', 'screenshots');

/** A fine-tuning job: coloured log lines, then tqdm bars; the last epoch lasts long enough to be caught live. */
const FINETUNE = String.raw`
import logging, sys, time
from tqdm import tqdm
G, Y, B, C, D, X = "\x1b[32m", "\x1b[33m", "\x1b[34;1m", "\x1b[36m", "\x1b[2m", "\x1b[0m"
logging.basicConfig(level=logging.INFO, format="%(asctime)s | %(levelname)s | %(message)s", stream=sys.stdout)
log = logging.getLogger("finetune")
log.info(f"{G}loaded{X} bert-base-uncased (110M parameters) on {C}cuda:0{X}")
log.info("dataset glue/mnli: 392,702 train / 9,815 eval examples, max_len=128")
log.warning(f"{Y}gradient accumulation 4: effective batch size 128{X}")
for key, value in [("learning_rate", "3e-5"), ("warmup_steps", "1000"), ("weight_decay", "0.01"), ("fp16", "True"), ("seed", "42")]:
    print(f"  {D}{key:<14}{X} {value}", flush=True)
for epoch in range(1, 4):
    steps = 150 if epoch < 3 else 4000
    for step in tqdm(range(steps), desc=f"epoch {epoch}/3", unit="batch", mininterval=0.25):
        time.sleep(0.02)
    if epoch < 3:
        print(f"{B}epoch {epoch}{X} eval: accuracy={G}0.{80 + epoch * 2}{X} loss={0.61 - epoch * 0.08:.3f} {D}(9,815 examples, 41.2 s){X}", flush=True)
        log.info(f"checkpoint saved to /ckpt/bert-mnli/epoch-{epoch}.pt")
`;

/** A sweep member that prints a line every half second for a long while. */
const SWEEP = String.raw`
import time
for step in range(1, 100000):
    print(f"lr=3e-4 step {step:5d} loss={2.5 / (1 + step / 40):.4f} grad_norm={1 + (step % 7) / 10:.2f}", flush=True)
    time.sleep(0.5)
`;

async function main(): Promise<void> {
  const captures = corpusDir('nvidia_smi', 'screenshots');
  if (captures === undefined) throw new Error('screenshots: the GPU captures of ../shared/corpus are needed');
  const capture = (prefix: string) => join(captures, readdirSync(captures).find((name) => name.startsWith(prefix)) ?? prefix);
  mkdirSync(OUT, { recursive: true });

  const hub = await startHub({ host: '127.0.0.1', port: 0, dataDir: tempDir('runlog-shots-') });
  const browser = await launchBrowser();
  const children: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[] = [];
  try {
    await seed(hub, captures, capture, children);
    await shoot(browser, hub);
  } finally {
    for (const child of children) child.child.kill('SIGKILL');
    await browser.close();
    await hub.close();
  }
}

async function seed(hub: RunningHub, _captures: string, capture: (prefix: string) => string, children: (Promise<CliResult> & { child: import('node:child_process').ChildProcess })[]) {
  const script = (name: string, text: string) => {
    const file = join(tempDir('runlog-shots-'), `${name}.py`);
    writeFileSync(file, text);
    return file;
  };
  const submit = async (body: object) => {
    const response = await fetch(`${hub.url}/api/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (response.status !== 201) throw new Error(`screenshots: task answered ${response.status}: ${await response.text()}`);
  };
  const status = async (id: string) => (await getJson<{ status: string }>(`${hub.url}/api/runs/${id}`)).body.status;

  // finished local runs, and the big one
  await writeBigRun(hub.store, 'pretrain-1m', 1_000_000, 'pretrain gpt-small · 1M lines');
  const local = (id: string, name: string, command: string[], labels: string[] = []) =>
    runOnHub(hub.url, id, tempDir('runlog-shots-'), command, ['--name', name, ...labels.flatMap((label) => ['--label', label])]);
  await local('tokenize-wiki', 'tokenize wikipedia', [PYTHON, join(FIXTURES, 'paced.py'), '40', '0.005'], ['team=nlp']);
  await local('eval-ckpt-12', 'eval checkpoint 12', [PYTHON, '-c', 'print("accuracy 0.874")'], ['team=nlp', 'ckpt=12']);
  const cancelled = local('export-onnx', 'export onnx', [PYTHON, join(FIXTURES, 'paced.py'), '1000', '0.05']);
  await waitFor(async () => (await fetch(`${hub.url}/api/runs/export-onnx`)).status === 200 || undefined, 20_000, 'export-onnx');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  cancelled.child.kill('SIGTERM');
  await cancelled;

  // two GPU workers
  const worker = (id: string, prefix: string) =>
    children.push(
      cli(['worker', '--id', id, '--hub', hub.url, '--heartbeat', '2', '--poll', '200ms', '--data', tempDir('runlog-shots-')], {
        PATH: `${FIXTURES}:${process.env.PATH}`,
        FAKE_NVIDIA_SMI_CAPTURE: capture(prefix),
      }),
    );
  worker('gpu-a5000-01', 'telegraf_dual_a5000');
  // a failed task first, while only one worker is up: its diagnostics carry that worker's GPUs
  await submit({ id: 'train-resnet50', name: 'train resnet50', command: [PYTHON, join(FIXTURES, 'levels_traceback.py')], labels: { team: 'vision', gpu: 'a5000' } });
  await waitFor(async () => (await status('train-resnet50')) === 'failed' || undefined, 60_000, 'train-resnet50 to fail');
  worker('gpu-k80-02', 'pai_nvidia_smi_out_of_order');
  await submit({ id: 'finetune-bert', name: 'finetune bert-base on mnli', command: [PYTHON, script('finetune', FINETUNE)], labels: { team: 'nlp' } });
  await submit({ id: 'sweep-lr-3e-4', name: 'lr sweep 3e-4', command: [PYTHON, script('sweep', SWEEP)], labels: { sweep: 'lr' } });
  await submit({ id: 'sweep-lr-1e-3', name: 'lr sweep 1e-3', command: [PYTHON, script('sweep2', SWEEP)], labels: { sweep: 'lr' } });
  await waitFor(async () => ((await status('finetune-bert')) === 'running' && (await status('sweep-lr-3e-4')) === 'running') || undefined, 30_000, 'both workers busy');
}

async function shoot(browser: Browser, hub: RunningHub) {
  const shot = async (page: Page, name: string) => {
    await page.waitForTimeout(400); // a quiet frame: fonts, the last batch of lines
    await page.screenshot({ path: join(OUT, `${name}.png`) });
    console.log(`written docs/screenshots/${name}.png`);
  };
  const tab = (path: string, colorScheme: 'light' | 'dark' = 'dark') => openTab(browser, `${hub.url}/${path}`, { colorScheme });

  // a live run: the bar of its last epoch updating in place, ANSI colours above it
  const live = await tab('#/runs/finetune-bert');
  await live.getByTestId('progress-row').filter({ hasText: 'epoch 3/3' }).waitFor({ timeout: 60_000 });
  await live.waitForTimeout(2000);
  await shot(live, 'run-live');

  const runs = await tab('#/runs');
  await runs.getByTestId('run-row').nth(7).waitFor({ timeout: 20_000 });
  await shot(runs, 'runs');

  // the failed run: dark with its diagnostics open, light with them folded (more of the log)
  for (const [scheme, name] of [['dark', 'run-failed'], ['light', 'run-failed-light']] as const) {
    const failed = await tab('#/runs/train-resnet50', scheme);
    await failed.getByTestId('run-error').waitFor({ timeout: 20_000 });
    await failed.getByTestId('run-end').waitFor({ timeout: 20_000 });
    if (scheme === 'dark') await failed.getByTestId('diagnostics').locator('summary').click();
    await shot(failed, name);
  }

  const search = await tab('#/runs/pretrain-1m');
  await search.locator('[data-testid="log-row"][data-seq="1000000"]').waitFor({ timeout: 20_000 });
  await search.getByTestId('search-input').fill('step 05000');
  await search.getByTestId('search-input').press('Enter');
  await waitFor(async () => (await search.getByTestId('search-status').textContent())?.includes('100 matches') || undefined, 30_000, 'the search');
  await shot(search, 'search');

  const workers = await tab('#/workers');
  await waitFor(async () => (await workers.getByTestId('gpu').count()) === 6 || undefined, 30_000, 'two workers with their GPUs');
  await waitFor(async () => (await workers.locator('.mini-line').count()) > 2 || undefined, 30_000, 'the workers lines');
  await shot(workers, 'workers');

  const logs = await tab('#/logs?live=1');
  await logs.getByTestId('system-log-row').nth(3).waitFor({ timeout: 20_000 });
  await shot(logs, 'logs');
}

await main();
