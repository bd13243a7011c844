/**
 * Latency benchmark's command: prints RATE lines a second for SECONDS seconds, each carrying the
 * wall-clock time it was printed at, so the reader can tell how long the line took to reach it:
 *
 *   <seq> <print time, ms since the epoch, 3 decimals> ........ (100 bytes with the newline)
 *
 * The first line comes DELAY_MS after start (time for a viewer to subscribe). A line is printed
 * when it is due (seq / RATE seconds after the first); a late timer prints the overdue lines at
 * once, each stamped when it is written. Writes to a pipe are synchronous here.
 *
 *   node bench/children/ticker.js RATE SECONDS [DELAY_MS]      e.g. 1000 10 1000
 */
import { LINE_BYTES, wallMs } from '../lib.js';

const rate = Number(process.argv[2] ?? 1000);
const seconds = Number(process.argv[3] ?? 10);
const delayMs = Number(process.argv[4] ?? 0);
const total = Math.round(rate * seconds);
let start = 0;
let printed = 0;

function tick() {
  const due = Math.min(total, Math.floor(((wallMs() - start) * rate) / 1000) + 1);
  while (printed < due) {
    printed++;
    process.stdout.write(`${`${printed} ${wallMs().toFixed(3)} `.padEnd(LINE_BYTES - 1, '.')}\n`);
  }
  if (printed < total) setTimeout(tick, 1);
}

setTimeout(() => {
  start = wallMs();
  tick();
}, delayMs);
