/**
 * Server-sent event frames (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * `data` is one line of JSON: JSON.stringify escapes every newline, so a frame can never be cut
 * short or forged by what a job prints.
 */
export function sseFrame(event: string, data: unknown, id?: number): string {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  return `${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const SSE_PING = ': ping\n\n';
