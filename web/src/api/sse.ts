/**
 * Server-sent events with the two rules the UI keeps (issue 4): one EventSource per tab for the
 * view on screen, and none while the tab is hidden. A LiveStream is closed when the page hides and
 * opened again, from a fresh URL (the view's own resume point), when it shows.
 *
 * A dropped connection is the browser's to repair: EventSource comes back after the hub's `retry`
 * and sends Last-Event-ID, so the stream resumes with no gap (docs/sse.md). A stream the hub ended
 * because its session or token lapsed (`event: error`, TOKEN_REVOKED / TOKEN_EXPIRED) is not: every
 * reconnection would be refused, so it stops and the page goes back to the sign-in.
 */
import { getSession, sessionEnded } from './session.ts';

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * Said on window (a CustomEvent whose detail is the new state) whenever a stream opens or loses
 * its hub: the top bar's hub light asks /healthz then, rather than at its next 15 s tick, so that
 * it does not say "hub" while the page says "reconnecting…" (or "hub down" once the page is live).
 */
export const STREAM_STATE_EVENT = 'runlog:stream-state';

/** Handlers by event name; `data` is the event's JSON, already parsed. */
export type StreamHandlers = Record<string, (data: unknown) => void>;

/** after a final failure (an HTTP error, say a proxy's 502 while the hub restarts): retry, slower each time */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

export class LiveStream {
  private source: EventSource | null = null;
  private stopped = true;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  state: StreamState = 'closed';

  constructor(
    /** called at every (re)open: it says where to resume */
    private readonly url: () => string,
    private readonly handlers: StreamHandlers,
    private readonly onState: (state: StreamState, final: boolean) => void = () => {},
  ) {}

  /** Opens now if the tab is visible, and follows visibility until stop(). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    document.addEventListener('visibilitychange', this.onVisibility);
    if (document.visibilityState !== 'hidden') this.open();
  }

  /** Closes for good (the view went away, or the stream ended). */
  stop(): void {
    this.stopped = true;
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.close();
    this.setState('closed', true);
  }

  get running(): boolean {
    return !this.stopped;
  }

  private readonly onVisibility = (): void => {
    if (this.stopped) return;
    if (document.visibilityState === 'hidden') {
      // a hidden tab keeps no stream: the hub's subscribers are for eyes on screen
      this.close();
      this.setState('closed', false);
    } else if (this.source === null) {
      this.open();
    }
  };

  private open(): void {
    this.close();
    const source = new EventSource(this.url());
    this.source = source;
    this.setState('connecting', false);
    source.onopen = () => {
      this.retryMs = RETRY_MIN_MS;
      this.setState('open', false);
    };
    source.onerror = (event) => {
      if (this.source !== source) return;
      const lapse = lapseOf(event);
      if (lapse !== undefined) {
        this.stop();
        sessionEnded(lapse);
        return;
      }
      // CONNECTING: the browser is retrying by itself (with Last-Event-ID). CLOSED: it gave up
      // (an HTTP error): open again later from the view's own position, backing off
      if (source.readyState === EventSource.CLOSED) {
        this.source = null;
        this.setState('reconnecting', false);
        // EventSource hides the status: a 401 (the lapse missed while the tab was hidden, say) looks
        // like a hub away. Ask who we are: signed out means no retry, only the sign-in
        getSession().then(
          (session) => {
            if (this.stopped || !session.auth_required || session.signed_in) return;
            this.stop();
            sessionEnded(undefined);
          },
          () => {}, // the hub does not answer: the retry below is the right thing
        );
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          if (!this.stopped && document.visibilityState !== 'hidden') this.open();
        }, this.retryMs);
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
      } else {
        this.setState('reconnecting', false);
      }
    };
    for (const [name, handler] of Object.entries(this.handlers)) {
      source.addEventListener(name, (event) => {
        if (this.source !== source) return;
        let data: unknown;
        try {
          data = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          return; // not JSON: not an event we know
        }
        handler(data);
      });
    }
  }

  private close(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.source === null) return;
    this.source.close();
    this.source = null;
  }

  private setState(state: StreamState, final: boolean): void {
    this.state = state;
    this.onState(state, final);
    if (state === 'open' || state === 'reconnecting') window.dispatchEvent(new CustomEvent<StreamState>(STREAM_STATE_EVENT, { detail: state }));
  }
}

/** The hub's `event: error` frame when the token or session behind the stream lapsed; undefined for any other error. */
function lapseOf(event: Event): 'TOKEN_REVOKED' | 'TOKEN_EXPIRED' | undefined {
  if (!(event instanceof MessageEvent) || typeof event.data !== 'string') return undefined;
  try {
    const code = (JSON.parse(event.data) as { error?: unknown }).error;
    return code === 'TOKEN_REVOKED' || code === 'TOKEN_EXPIRED' ? code : undefined;
  } catch {
    return undefined;
  }
}
