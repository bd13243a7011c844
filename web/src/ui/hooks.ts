/** Small hooks the pages share. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { LiveStream, type StreamHandlers, type StreamState } from '../api/sse.ts';

/** Date.now(), refreshed every `ms` while the tab is visible: for ages and running durations. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState !== 'hidden') setNow(Date.now());
    }, ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** `value`, once it has stayed the same for `ms`: what a filter box asks the hub for. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * An event stream for the page on screen (null: none), closed while the tab is hidden.
 * `onResume` runs when the tab shows again, and when the stream is back after a drop: what
 * happened meanwhile was not streamed, so the page reloads its state before the stream goes on.
 */
export function useLiveStream(url: string | null, handlers: StreamHandlers, onResume?: () => void): StreamState {
  const [state, setState] = useState<StreamState>('closed');
  const latest = useRef({ handlers, onResume });
  latest.current = { handlers, onResume };
  useEffect(() => {
    if (url === null) return;
    const names = Object.keys(latest.current.handlers);
    const proxied: StreamHandlers = {};
    for (const name of names) proxied[name] = (data) => latest.current.handlers[name]?.(data);
    // back after a drop (the hub restarted): what happened meanwhile went to nobody, and the lists'
    // streams (/api/events, every worker's lines) have no position to resume from: read again
    let dropped = false;
    const stream = new LiveStream(() => url, proxied, (next) => {
      if (next === 'reconnecting') dropped = true;
      else if (next === 'open' && dropped) {
        dropped = false;
        latest.current.onResume?.();
      }
      setState(next);
    });
    stream.start();
    let hidden = document.visibilityState === 'hidden';
    const onVisibility = () => {
      const nowHidden = document.visibilityState === 'hidden';
      if (hidden && !nowHidden) latest.current.onResume?.();
      hidden = nowHidden;
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      document.removeEventListener('visibilitychange', onVisibility);
      stream.stop();
    };
  }, [url]);
  return state;
}

/**
 * A narrow screen (a phone): a log line's message goes under its time, level and other columns,
 * the whole width (beside them it was 3 to 15 characters wide at 420 px): the Logs page's lists and
 * the run page's viewer. The same width as the media queries of pages.css.
 */
export const NARROW = '(max-width: 640px)';

/** Whether a CSS media query holds, kept up to date (a phone turned, a window narrowed). */
export function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const list = matchMedia(query);
    const onChange = () => setMatches(list.matches);
    onChange();
    list.addEventListener('change', onChange);
    return () => list.removeEventListener('change', onChange);
  }, [query]);
  return matches;
}

/** A UI preference kept in localStorage (toggles survive a reload). */
export function useSetting<T extends string | boolean>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => {
    try {
      const stored = localStorage.getItem(`runlog.${key}`);
      if (stored === null) return initial;
      const parsed = JSON.parse(stored) as unknown;
      return typeof parsed === typeof initial ? (parsed as T) : initial;
    } catch {
      return initial;
    }
  });
  const set = (next: T) => {
    setValue(next);
    try {
      localStorage.setItem(`runlog.${key}`, JSON.stringify(next));
    } catch {
      // private mode: the setting lasts for the page
    }
  };
  return [value, set];
}

/** Whether a key press belongs to a text field (shortcuts stay out of typing). */
export function isTyping(event: KeyboardEvent): boolean {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** Document-wide single-key shortcuts (no modifier, not while typing). */
export function useKeys(bindings: Record<string, (event: KeyboardEvent) => void>): void {
  const latest = useRef(bindings);
  latest.current = bindings;
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event)) return;
      const handler = latest.current[event.key];
      if (handler === undefined) return;
      event.preventDefault();
      handler(event);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}
