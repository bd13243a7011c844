/** The runlog web UI: a top bar and the page the URL hash names (see router.ts). */
import { render } from 'preact';
import { App } from './App.tsx';
import './styles/base.css';
import './styles/viewer.css';
import './styles/pages.css';

render(<App />, document.getElementById('app')!);
