/**
 * The host names the hub answers to. A browser sends the name it resolved in `Host:`; a page on
 * evil.example whose DNS now points at the hub (DNS rebinding) sends `Host: evil.example`, and is
 * refused. Loopback names are always served; a hub bound to one address also answers to that
 * address; one bound to every address (0.0.0.0, ::) to this machine's addresses and host name;
 * and every host of --public-url.
 */
import { hostname, networkInterfaces } from 'node:os';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

export function isLoopbackHost(host: string): boolean {
  const name = bare(host);
  return name === 'localhost' || name === '::1' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

export function allowedHostNames(bindHost: string, publicUrls: readonly string[]): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  const bound = bare(bindHost);
  if (WILDCARDS.has(bound)) {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) names.add(address.address.toLowerCase());
    }
  } else {
    names.add(bound);
  }
  for (const url of publicUrls) names.add(bare(new URL(url).hostname));
  return names;
}

/** The host name of a `Host:` header or URL host: lower case, without port or IPv6 brackets. */
export function hostOfHeader(header: string): string {
  const text = header.trim().toLowerCase();
  if (text.startsWith('[')) return text.slice(1, text.indexOf(']'));
  const colon = text.lastIndexOf(':');
  return colon === -1 ? text : text.slice(0, colon);
}

function bare(host: string): string {
  const text = host.trim().toLowerCase();
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}
