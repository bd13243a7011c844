/**
 * Who the page acts as. A hub with tokens needs the user to sign in once with a token; the hub
 * then holds a session cookie (HttpOnly: this script never sees it) that every request and live
 * stream carries. Any 401 sends the page back to the sign-in form.
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { ApiError } from './http.ts';

export type Scope = 'read' | 'write' | 'worker' | 'submit' | 'admin';

export interface Session {
  /** the hub has tokens: a request without one is refused */
  auth_required: boolean;
  signed_in: boolean;
  name: string | null;
  scopes: Scope[];
  worker_id: string | null;
}

/** A request was refused for want of a session: the App asks who we are again. */
export const UNAUTHORIZED_EVENT = 'runlog:unauthorized';

/** What the sign-in says when a live stream ended with the session (a CustomEvent's detail). */
const ENDED: Record<'TOKEN_REVOKED' | 'TOKEN_EXPIRED' | 'SIGNED_OUT', string> = {
  TOKEN_REVOKED: 'Your session ended: it was signed out, or its token was revoked. Sign in again to go on.',
  TOKEN_EXPIRED: 'Your session ended: its token expired. Sign in with a new token to go on.',
  SIGNED_OUT: 'Your session ended. Sign in again to go on.',
};

/** What the sign-in says when a request was refused (401) while the page was signed in. */
export const SESSION_ENDED_NOTICE = ENDED.SIGNED_OUT;

/** A live stream learnt that the session is over: the App shows the sign-in, saying why. */
export function sessionEnded(why: 'TOKEN_REVOKED' | 'TOKEN_EXPIRED' | undefined): void {
  window.dispatchEvent(new CustomEvent<string>(UNAUTHORIZED_EVENT, { detail: ENDED[why ?? 'SIGNED_OUT'] }));
}

export async function getSession(): Promise<Session> {
  const response = await fetch('api/session', { headers: { accept: 'application/json' } });
  if (!response.ok) throw new ApiError(response.status, `the hub answered ${response.status}`);
  return (await response.json()) as Session;
}

export async function signIn(token: string): Promise<void> {
  const response = await fetch('api/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: string };
    throw new ApiError(response.status, body.message ?? `the hub answered ${response.status}`);
  }
}

export async function signOut(): Promise<void> {
  await fetch('api/session', { method: 'DELETE' });
}

export const SessionContext = createContext<Session | null>(null);

/** Whether the signed-in token may do what needs `scope` (admin may do everything; an open hub, anything). */
export function useCan(): (scope: Scope) => boolean {
  const session = useContext(SessionContext);
  return (scope) => {
    if (session === null || !session.auth_required) return true;
    return session.scopes.includes('admin') || session.scopes.includes(scope);
  };
}
