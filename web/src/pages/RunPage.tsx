/** A run: its header (status, cause of failure, diagnostics) above its log viewer. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { parseLevel } from '../api/types.ts';
import { parseHash, replaceHash } from '../router.ts';
import { RunLogSession } from '../viewer/session.ts';
import type { LineFilter } from '../viewer/filter.ts';
import { LogViewer } from '../viewer/LogViewer.tsx';
import { RunHeader } from './RunHeader.tsx';

export function RunPage({ id, line, query }: { id: string; line: number | null; query: URLSearchParams }) {
  const session = useMemo(() => new RunLogSession(id), [id]);
  // the header renders when the run changes, not at every batch of lines
  const [run, setRun] = useState(session.run);
  const [error, setError] = useState(session.error);
  const handledLine = useRef<number | null>(line);
  // the search and the level are the URL's (#/runs/<id>?q=…&level=…): a reload or a link keeps them
  const q = query.get('q') ?? '';
  const level = parseLevel(query.get('level') ?? '');

  useEffect(() => {
    const unsubscribe = session.subscribe(() => {
      setRun(session.run);
      setError(session.error);
      keepFilterInUrl(id, session.filter);
    });
    void session.start({ q, level }, handledLine.current);
    return () => {
      unsubscribe();
      session.dispose();
    };
  }, [session]);

  // the URL changed by hand, or back/forward: the view follows it (a no-op when it is the view's own)
  useEffect(() => {
    void session.setFilter({ q, level });
  }, [q, level, session]);

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

/**
 * The viewer's filter written into the URL, the path (the run, its #L line) kept: replaced, not
 * pushed, as the Logs page's filters are. A jump to a line (a new history entry) gets it back too.
 */
function keepFilterInUrl(id: string, filter: LineFilter): void {
  // the page may be on its way out (a link to another page followed): never write into another's URL
  const route = parseHash(location.hash);
  if (route.page !== 'run' || route.id !== id) return;
  const [path = '', search = ''] = location.hash.split('?', 2);
  const next = new URLSearchParams(search);
  for (const [key, value] of [['q', filter.q], ['level', filter.level ?? '']] as const) {
    if (value === '') next.delete(key);
    else next.set(key, value);
  }
  const text = next.toString();
  const hash = text === '' ? path : `${path}?${text}`;
  if (hash !== location.hash && search !== text) replaceHash(hash);
}
