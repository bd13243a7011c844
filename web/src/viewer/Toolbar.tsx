/** The viewer's controls: server search, level, error jumps, toggles, download, stream state. */
import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { downloadUrl } from '../api/runs.ts';
import { LEVELS, type Level } from '../api/types.ts';
import { count } from '../ui/format.ts';
import type { RunLogSession } from './session.ts';

interface Props {
  session: RunLogSession;
  searchRef: RefObject<HTMLInputElement>;
  timestamps: boolean;
  wrap: boolean;
  onTimestamps: () => void;
  onWrap: () => void;
  /** where "next error" starts from: the target line if on screen, else the first line on screen */
  fromSeq: () => number;
}

/** ms after the last key before a search runs by itself (Enter runs it at once) */
const SEARCH_DELAY_MS = 600;

export function Toolbar({ session, searchRef, timestamps, wrap, onTimestamps, onWrap, fromSeq }: Props) {
  const [text, setText] = useState(session.filter.q);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  // the session may end a search by itself (a #L link shows the line in context)
  useEffect(() => setText(session.filter.q), [session.filter.q]);

  const search = (q: string) => {
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = null;
    void session.setFilter({ ...session.filter, q: q.trim() });
  };

  const onInput = (value: string) => {
    setText(value);
    if (timer.current !== null) clearTimeout(timer.current);
    timer.current = setTimeout(() => search(value), SEARCH_DELAY_MS);
  };

  const q = session.filter.q;
  const { store } = session;
  const matches = q === '' || session.loading ? null : store.lo === 0 && session.attached ? count(store.length) : `${count(store.length)}+`;

  return (
    <div class="toolbar" role="toolbar">
      <div class="search">
        <input
          ref={searchRef}
          type="search"
          class="search-input"
          data-testid="search-input"
          placeholder="Search the whole run   /"
          aria-label="search the whole run"
          value={text}
          spellcheck={false}
          onInput={(event) => onInput(event.currentTarget.value)}
          onKeyDown={(event) => {
            if (event.key === 'Enter') search(text);
            if (event.key === 'Escape') {
              setText('');
              search('');
              event.currentTarget.blur();
            }
          }}
        />
        {matches !== null && (
          <span class="search-status small" data-testid="search-status">
            {matches} {matches === '1' ? 'match' : 'matches'}
          </span>
        )}
      </div>

      <select
        class="level-filter"
        data-testid="level-filter"
        title="this level and above"
        aria-label="level"
        value={session.filter.level ?? ''}
        onChange={(event) => {
          const value = event.currentTarget.value;
          void session.setFilter({ ...session.filter, level: value === '' ? null : (value as Level) });
        }}
      >
        <option value="">all levels</option>
        {LEVELS.slice(1).map((level) => (
          <option value={level} key={level}>
            {level.toLowerCase()} +
          </option>
        ))}
      </select>

      <div class="group">
        <button data-testid="first-error" onClick={() => void session.jumpToError('first', 0)} title="the run's first error">
          first error
        </button>
        <button data-testid="prev-error" onClick={() => void session.jumpToError('previous', fromSeq())} title="the error before" aria-label="previous error">
          ↑
        </button>
        <button data-testid="next-error" onClick={() => void session.jumpToError('next', fromSeq())} title="the next error" aria-label="next error">
          ↓
        </button>
      </div>

      <div class="group">
        <Toggle on={timestamps} onClick={onTimestamps} testId="toggle-timestamps" label="time" title="show timestamps" />
        <Toggle on={wrap} onClick={onWrap} testId="toggle-wrap" label="wrap" title="wrap long lines" />
        <Toggle on={session.following} onClick={() => session.toggleFollow()} testId="follow-toggle" label="follow" title="follow new lines (f)" />
      </div>

      <a class="button" href={downloadUrl(session.runId)} download data-testid="download-link" title="the whole run as text">
        download
      </a>

      <span class="spacer" />
      {session.notice !== null && (
        <span class="notice small" data-testid="viewer-notice">
          {session.notice}
        </span>
      )}
      <StreamPill session={session} />
    </div>
  );
}

function Toggle({ on, onClick, testId, label, title }: { on: boolean; onClick: () => void; testId: string; label: string; title: string }) {
  return (
    <button class={`toggle ${on ? 'on' : ''}`} aria-pressed={on} data-testid={testId} onClick={onClick} title={title}>
      {label}
    </button>
  );
}

function StreamPill({ session }: { session: RunLogSession }) {
  let state: string;
  let label: string;
  if (session.ended) [state, label] = ['ended', 'ended'];
  else if (session.loading && session.streamState === 'closed') [state, label] = ['retry', 'loading…'];
  else if (session.streamState === 'open') [state, label] = ['live', 'live'];
  else if (session.streamState === 'reconnecting') [state, label] = ['retry', 'reconnecting…'];
  else if (session.streamState === 'connecting') [state, label] = ['retry', 'connecting…'];
  else [state, label] = ['off', document.visibilityState === 'hidden' ? 'paused' : 'offline'];
  return (
    <span class={`stream-pill ${state}`} data-testid="stream-state" data-state={state}>
      <span class="dot" />
      {label}
    </span>
  );
}
