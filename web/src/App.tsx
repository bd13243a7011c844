/** The frame: the top bar, and the page for the current route. */
import { useEffect, useState } from 'preact/hooks';
import { href, useRoute, type Route } from './router.ts';
import { LogsPage } from './pages/LogsPage.tsx';
import { RunPage } from './pages/RunPage.tsx';
import { RunsPage } from './pages/RunsPage.tsx';
import { WorkersPage } from './pages/WorkersPage.tsx';

export function App() {
  const route = useRoute();
  useEffect(() => {
    if (route.page !== 'run') document.title = `${route.page === 'missing' ? 'not found' : route.page} · runlog`;
  }, [route.page]);
  return (
    <div class="app">
      <TopBar route={route} />
      <main class="main">
        <Page route={route} />
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'runs':
      return <RunsPage query={route.query} />;
    case 'run':
      // keyed by id: another run is another session, never a mix of two runs' lines
      return <RunPage key={route.id} id={route.id} line={route.line} />;
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

function TopBar({ route }: { route: Route }) {
  const section = route.page === 'run' ? 'runs' : route.page;
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
      <HubHealth />
    </nav>
  );
}

/** A small "hub up" light: /healthz every 15 s while the tab is visible. */
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
    return () => clearInterval(timer);
  }, []);
  return (
    <span class={`hub-health ${ok === false ? 'down' : ok ? 'up' : ''}`} title={ok === false ? 'the hub does not answer' : 'hub up'} data-testid="hub-health">
      <span class="dot" /> {ok === false ? 'hub down' : 'hub'}
    </span>
  );
}
