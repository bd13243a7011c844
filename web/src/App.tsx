/** The frame: the top bar, and the page for the current route. */
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { href, useRoute, type Route } from './router.ts';
import { STREAM_STATE_EVENT } from './api/sse.ts';
import { getSession, SESSION_ENDED_NOTICE, SessionContext, signOut, UNAUTHORIZED_EVENT, type Session } from './api/session.ts';
import { SignInPage } from './pages/SignInPage.tsx';
import { LogsPage } from './pages/LogsPage.tsx';
import { RunPage } from './pages/RunPage.tsx';
import { RunsPage } from './pages/RunsPage.tsx';
import { WorkersPage } from './pages/WorkersPage.tsx';

/** the first retry of a session read that failed, doubling up to the last */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 10_000;

export function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null>(null);
  const [sessionError, setSessionError] = useState<string | null>(null);
  /** why the sign-in is back (a live stream's session ended), until the user signs in or out */
  const [ended, setEnded] = useState<string | null>(null);
  /** the session as last read, for the 401 listener (set up once) */
  const sessionRef = useRef<Session | null>(null);
  sessionRef.current = session;
  // the hub did not answer (restarting behind its proxy, a 502): asked again, every few seconds,
  // rather than leaving the page on the error until a reload
  const retry = useRef<{ timer: ReturnType<typeof setTimeout> | null; failures: number }>({ timer: null, failures: 0 });
  const refresh = useCallback(() => {
    getSession().then(
      (next) => {
        retry.current.failures = 0;
        setSession(next);
        setSessionError(null);
      },
      (error: Error) => {
        setSessionError(error.message);
        const state = retry.current;
        if (state.timer !== null) return;
        const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** state.failures++);
        state.timer = setTimeout(() => {
          state.timer = null;
          refresh();
        }, wait);
      },
    );
  }, []);
  useEffect(() => () => {
    if (retry.current.timer !== null) clearTimeout(retry.current.timer);
  }, []);
  useEffect(() => {
    refresh();
    const onUnauthorized = (event: Event) => {
      if (event instanceof CustomEvent && typeof event.detail === 'string') setEnded(event.detail);
      // a plain request refused while signed in (the token revoked, the session expired): the hub's
      // 401 cannot say which, but the sign-in must say why the page is back there
      else if (sessionRef.current?.signed_in === true) setEnded(SESSION_ENDED_NOTICE);
      refresh();
    };
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, [refresh]);
  const signedIn = useCallback(() => {
    setEnded(null);
    refresh();
  }, [refresh]);
  useEffect(() => {
    if (route.page !== 'run') document.title = `${route.page === 'missing' ? 'not found' : route.page} · runlog`;
  }, [route.page]);
  const mustSignIn = session !== null && session.auth_required && !session.signed_in;
  return (
    <SessionContext.Provider value={session}>
      <div class="app">
        <TopBar route={route} onSignOut={() => signOut().then(signedIn)} />
        <main class="main">
          {session === null ? (
            <div class="page">
              <div class="empty muted" data-testid="connecting">{sessionError === null ? 'connecting to the hub…' : `${sessionError}: trying again…`}</div>
            </div>
          ) : mustSignIn ? (
            <SignInPage onSignedIn={signedIn} notice={ended} />
          ) : (
            <Page route={route} />
          )}
        </main>
      </div>
    </SessionContext.Provider>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'runs':
      return <RunsPage query={route.query} />;
    case 'run':
      // keyed by id: another run is another session, never a mix of two runs' lines
      return <RunPage key={route.id} id={route.id} line={route.line} query={route.query} />;
    case 'workers':
      return <WorkersPage query={route.query} />;
    case 'logs':
      return <LogsPage query={route.query} />;
    case 'missing':
      return (
        <div class="page">
          <div class="empty muted">
            No page at <code>{route.path}</code>. <a href={href.runs()}>Runs</a>
          </div>
        </div>
      );
  }
}

function TopBar({ route, onSignOut }: { route: Route; onSignOut: () => void }) {
  const section = route.page === 'run' ? 'runs' : route.page;
  const session = useContext(SessionContext);
  return (
    <nav class="topbar">
      <a class="brand" href={href.runs()}>
        <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
          <rect width="16" height="16" rx="3" fill="var(--accent)" />
          <path d="M4 5h8M4 8h6M4 11h7" stroke="white" stroke-width="1.6" />
        </svg>
        runlog
      </a>
      <a class={section === 'runs' ? 'active' : ''} href={href.runs()}>
        Runs
      </a>
      <a class={section === 'workers' ? 'active' : ''} href={href.workers()}>
        Workers
      </a>
      <a class={section === 'logs' ? 'active' : ''} href={href.logs()}>
        Logs
      </a>
      <span class="spacer" />
      {session?.signed_in ? (
        <span class="who" data-testid="who">
          <span class="muted" title={`scopes: ${session.scopes.join(', ')}`}>
            {session.name}
          </span>
          <button type="button" class="small" onClick={onSignOut} data-testid="sign-out">
            Sign out
          </button>
        </span>
      ) : null}
      <HubHealth />
    </nav>
  );
}

/** A small "hub up" light: /healthz every 15 s while the tab is visible, and when a live stream opens or drops. */
function HubHealth() {
  const [ok, setOk] = useState<boolean | null>(null);
  useEffect(() => {
    const check = () => {
      if (document.visibilityState === 'hidden') return;
      fetch('healthz').then(
        (response) => setOk(response.ok),
        () => setOk(false),
      );
    };
    check();
    const timer = setInterval(check, 15_000);
    window.addEventListener(STREAM_STATE_EVENT, check);
    return () => {
      clearInterval(timer);
      window.removeEventListener(STREAM_STATE_EVENT, check);
    };
  }, []);
  return (
    <span class={`hub-health ${ok === false ? 'down' : ok ? 'up' : ''}`} title={ok === false ? 'the hub does not answer' : 'hub up'} data-testid="hub-health">
      <span class="dot" /> {ok === false ? 'hub down' : 'hub'}
    </span>
  );
}
