/**
 * A request Node's HTTP parser refuses (raw UTF-8 in the URL, a control character in a header, a
 * bad Content-Length) never reaches a route: Fastify answered it with its own
 * `{"error":"Bad Request","message":"Client Error","statusCode":400}`, naming nothing, while every
 * other error of the API has the shape docs/api.md#errors gives (`error`, `message`, `field`).
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { AccessLogWriter } from './access-log.js';

interface ClientErrorAnswer {
  status: number;
  error: string;
  message: string;
  field: string;
}

/** The part of the request llhttp's error code says was wrong. */
function fieldOf(code: string): string {
  if (code === 'HPE_INVALID_URL') return 'url';
  if (code === 'HPE_INVALID_METHOD') return 'method';
  if (code === 'HPE_INVALID_CONTENT_LENGTH' || code === 'HPE_UNEXPECTED_CONTENT_LENGTH') return 'content-length';
  if (code.startsWith('HPE_INVALID_HEADER') || code === 'HPE_INVALID_TRANSFER_ENCODING') return 'headers';
  if (code.startsWith('HPE_INVALID_CHUNK')) return 'body';
  return 'request';
}

export function clientErrorAnswer(error: Error & { code?: string }): ClientErrorAnswer {
  const code = error.code ?? '';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, error: 'REQUEST_TIMEOUT', message: 'request: not received in full in time', field: 'request' };
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, error: 'HEADERS_TOO_LARGE', message: 'headers: the URL and headers come to more than 16 KiB, the most the hub reads', field: 'headers' };
  }
  const field = fieldOf(code);
  // llhttp's reason ("Invalid char in url query") says what; the hint says what to do about it
  const reason = error.message.replace(/^Parse Error: /, '');
  const hint = field === 'url' ? ': percent-encode what is not ASCII (ü is %C3%BC)' : '';
  return { status: 400, error: 'BAD_REQUEST', message: `${field}: not valid HTTP/1.1 (${reason})${hint}`, field };
}

/**
 * Fastify's clientErrorHandler: the answer in the API's shape, then the connection closed (as
 * Node's own). With an access log, one line for it too: no method or path could be read (`- /…`),
 * and none of the request is shown (a token pasted into a URL is one way to break it).
 */
export function clientErrorAnswerer(accessLog?: AccessLogWriter): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    // a reset connection, or one already gone: nobody to answer
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // the client closed its side mid-request (an upload cut off): nobody reads an answer, and the
    // route that had the request logs it (499); a 400 line as well said the client sent bad HTTP
    if (error.code === 'HPE_INVALID_EOF_STATE') {
      socket.destroy();
      return;
    }
    const status = answerClientError(error, socket);
    accessLog?.(`${new Date().toISOString()} - /… ${status} 0.0ms`);
  };
}

function answerClientError(error: Error & { code?: string }, socket: Socket): number {
  const { status, ...answer } = clientErrorAnswer(error);
  const body = JSON.stringify(answer);
  // as Node's own handler: no answer into a response already under way on this connection (a
  // live stream, then bytes that are not a request), where it would land mid-body
  const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (!socket.writable || pending?.headersSent === true) {
    socket.destroy();
    return status;
  }
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  return status;
}
