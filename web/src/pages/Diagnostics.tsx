/**
 * A failed run's diagnostics (src/agent/diagnostics.ts): probes gpu, system, containers, commands,
 * each `{ name, ok, data?, note?, ms }`. Each known probe reads as a table; anything else as JSON
 * text. All of it is text: container lines come from programs and stay inert.
 */
import type { ComponentChildren } from 'preact';
import type { Gpu } from '../api/types.ts';
import { bytes } from '../ui/format.ts';
import { gpusOf } from '../ui/gpus.ts';
import { GpuRows } from '../ui/meter.tsx';
import { AnsiText } from '../viewer/AnsiText.tsx';

interface Probe {
  name: string;
  ok: boolean;
  data?: unknown;
  note?: string;
  ms?: number;
}

type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

function probesOf(diagnostics: unknown): Probe[] {
  if (!isObj(diagnostics) || !Array.isArray(diagnostics.probes)) return [];
  return diagnostics.probes.filter((probe): probe is Probe => isObj(probe) && typeof probe.name === 'string');
}

/** The GPUs the gpu probe saw, or null. */
export function gpuProbe(diagnostics: unknown): Gpu[] | null {
  const probe = probesOf(diagnostics).find((candidate) => candidate.name === 'gpu');
  if (probe === undefined || !isObj(probe.data) || !Array.isArray(probe.data.gpus)) return null;
  return gpusOf(probe.data.gpus);
}

export function Diagnostics({ diagnostics }: { diagnostics: unknown }) {
  const probes = probesOf(diagnostics);
  const collected = isObj(diagnostics) ? str(diagnostics.collected_at) : '';
  return (
    <details class="diagnostics" data-testid="diagnostics">
      <summary>
        diagnostics
        <span class="muted small">
          {' '}
          {probes.map((probe) => `${probe.name} ${probe.ok ? '✓' : '✗'}`).join(' · ')}
          {collected !== '' && ` · collected ${new Date(collected).toLocaleTimeString()}`}
        </span>
      </summary>
      {probes.length === 0 && <pre class="json">{JSON.stringify(diagnostics, null, 2)}</pre>}
      {probes.map((probe) => (
        <section class="probe" key={probe.name} data-probe={probe.name}>
          <h3>
            {probe.name} {!probe.ok && <span class="bad small">skipped</span>}
            {probe.ms !== undefined && <span class="muted small"> · {probe.ms} ms</span>}
          </h3>
          {probe.note !== undefined && <div class="muted small note">{probe.note}</div>}
          {probe.data !== undefined && <ProbeData probe={probe} />}
        </section>
      ))}
    </details>
  );
}

function ProbeData({ probe }: { probe: Probe }) {
  const { data } = probe;
  if (probe.name === 'gpu') {
    const gpus = gpuProbe({ probes: [probe] });
    if (gpus !== null) return <GpuRows gpus={gpus} />;
  }
  if (probe.name === 'system' && isObj(data)) return <SystemTable data={data} />;
  if (probe.name === 'containers' && Array.isArray(data)) return <Containers containers={data.filter(isObj)} />;
  if (probe.name === 'commands' && Array.isArray(data)) return <Commands commands={data.filter(isObj)} />;
  return <pre class="json">{JSON.stringify(data, null, 2)}</pre>;
}

function SystemTable({ data }: { data: Obj }) {
  const memory = isObj(data.memory) ? data.memory : {};
  const total = num(memory.total_bytes);
  const free = num(memory.free_bytes);
  const disks = Array.isArray(data.disks) ? data.disks.filter(isObj) : [];
  const uptime = isObj(data.uptime_s) ? data.uptime_s : {};
  return (
    <table class="kv">
      <tbody>
        <Kv k="cpus">{str(data.cpus)}</Kv>
        <Kv k="load average">{Array.isArray(data.loadavg) ? data.loadavg.map(str).join('  ') : str(data.loadavg)}</Kv>
        <Kv k="memory">{total === null ? '?' : `${bytes(total - (free ?? 0))} used of ${bytes(total)} (${bytes(free)} free)`}</Kv>
        {disks.map((disk) => (
          <Kv k={`disk ${str(disk.path)}`} key={str(disk.path)}>
            {disk.error !== undefined
              ? str(disk.error)
              : `${bytes(num(disk.available_bytes))} available of ${bytes(num(disk.total_bytes))}${num(disk.used_pct) === null ? '' : ` (${num(disk.used_pct)}% used)`}`}
          </Kv>
        ))}
        {num(uptime.system) !== null && <Kv k="uptime">{`${Math.round(num(uptime.system)! / 3600)} h`}</Kv>}
      </tbody>
    </table>
  );
}

function Containers({ containers }: { containers: Obj[] }) {
  if (containers.length === 0) return <div class="muted small">no containers labelled with this run</div>;
  return (
    <div class="containers">
      {containers.map((container) => {
        const logs = Array.isArray(container.logs) ? container.logs.filter(isObj) : [];
        return (
          <details class="container" key={str(container.id)}>
            <summary>
              <span class="mono">{str(container.name)}</span> <span class="muted">{str(container.image)}</span> · {str(container.status) || str(container.state)}
              <span class="muted small"> · {logs.length} lines</span>
            </summary>
            {container.logs_note !== undefined && <div class="muted small note">{str(container.logs_note)}</div>}
            <pre class="container-logs">
              {logs.map((entry, index) => (
                <div key={index} class={entry.stream === 'stderr' ? 'stderr' : ''}>
                  <AnsiText text={str(entry.line)} />
                </div>
              ))}
            </pre>
          </details>
        );
      })}
    </div>
  );
}

function Commands({ commands }: { commands: Obj[] }) {
  return (
    <table class="grid-table">
      <thead>
        <tr>
          <th>phase</th>
          <th>command</th>
          <th>exit</th>
        </tr>
      </thead>
      <tbody>
        {commands.map((command, index) => (
          <tr key={index}>
            <td>{str(command.phase)}</td>
            <td class="mono">{str(command.command)}</td>
            <td class={command.exit_code === 0 ? '' : 'bad'}>{command.exit_code === null ? str(command.signal) || '–' : str(command.exit_code)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Kv({ k, children }: { k: string; children: ComponentChildren }) {
  return (
    <tr>
      <th>{k}</th>
      <td>{children}</td>
    </tr>
  );
}
