/** A run: its header (status, cause of failure, diagnostics) above its log viewer. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { RunLogSession } from '../viewer/session.ts';
import { NO_FILTER } from '../viewer/filter.ts';
import { LogViewer } from '../viewer/LogViewer.tsx';
import { RunHeader } from './RunHeader.tsx';

export function RunPage({ id, line }: { id: string; line: number | null }) {
  const session = useMemo(() => new RunLogSession(id), [id]);
  // the header renders when the run changes, not at every batch of lines
  const [run, setRun] = useState(session.run);
  const [error, setError] = useState(session.error);
  const handledLine = useRef<number | null>(line);

  useEffect(() => {
    const unsubscribe = session.subscribe(() => {
      setRun(session.run);
      setError(session.error);
    });
    void session.start(NO_FILTER, handledLine.current);
    return () => {
      unsubscribe();
      session.dispose();
    };
  }, [session]);

  // a #L link followed while the page is open: show that line
  useEffect(() => {
    if (line === null || line === handledLine.current) return;
    handledLine.current = line;
    void session.goTo(line);
  }, [line, session]);

  useEffect(() => {
    const name = run?.name ?? id;
    document.title = `${run?.status === 'failed' ? '✗ ' : ''}${name} · runlog`;
  }, [run?.name, run?.status, id]);

  return (
    <div class="run-page">
      <RunHeader id={id} run={run} error={run === null ? error : null} onChanged={() => session.refreshRun()} />
      {(run !== null || error === null) && <LogViewer session={session} />}
    </div>
  );
}
