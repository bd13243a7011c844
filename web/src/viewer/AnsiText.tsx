/** A log message as text nodes: styled spans only where SGR asked for a style (see ansi.ts). */
import type { ComponentChildren } from 'preact';
import { HAS_SPECIAL, toSpans, type Span } from './ansi.ts';
import { markMatches } from './highlight.ts';

// lines are immutable once loaded: parse each message once while it is on screen or near it
const cache = new Map<string, Span[]>();
const CACHE_MAX = 2_000;

function cachedSpans(message: string): Span[] {
  let spans = cache.get(message);
  if (spans === undefined) {
    spans = toSpans(message);
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(message, spans);
  }
  return spans;
}

/**
 * A message as text nodes; styled spans only where SGR asked for a style. A plain function, not a
 * component: the log viewer calls it for every row it draws, and a component instance per row
 * costs more than the row's text.
 */
export function ansiNodes(text: string, search = ''): ComponentChildren {
  if (search === '') return HAS_SPECIAL.test(text) ? cachedSpans(text).map(styled) : text;
  // a search: its matches marked
  return markMatches(cachedSpans(text), search).map((span, index) =>
    span.mark ? (
      <mark key={index} class="match">
        {styled(span)}
      </mark>
    ) : (
      styled(span, index)
    ),
  );
}

function styled(span: Span, index?: number): ComponentChildren {
  if (span.control !== undefined) {
    return (
      <span key={index} class="bidi-control" title={`${span.control}: shown, not applied`}>
        {span.text}
      </span>
    );
  }
  return span.style === undefined ? span.text : <span key={index} style={span.style}>{span.text}</span>;
}

export function AnsiText({ text }: { text: string }) {
  return <>{ansiNodes(text)}</>;
}
