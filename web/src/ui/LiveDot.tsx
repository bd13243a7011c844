/** Whether a page's event stream is up: a pulse when live, grey otherwise. */
import type { StreamState } from '../api/sse.ts';

export function LiveDot({ state }: { state: StreamState }) {
  const live = state === 'open';
  return (
    <span class={`stream-pill ${live ? 'live' : state === 'closed' ? 'off' : 'retry'}`} data-testid="live-state" data-state={state}>
      <span class="dot" />
      {live ? 'live' : state === 'closed' ? 'not live' : 'connecting…'}
    </span>
  );
}
