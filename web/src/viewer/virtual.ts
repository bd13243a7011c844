/**
 * A Preact hook around @tanstack/virtual-core's Virtualizer (the same shape as its React adapter):
 * options are set on every render, the instance is mounted once, and its changes (scroll, resize,
 * measurements) re-render the component, but only those that change what is drawn: the rows in
 * range and their sizes. A scroll that keeps the same rows, or the end of "is scrolling", draws
 * nothing new (issue 4: a few renders a second while lines pour in).
 */
import { useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';
import {
  Virtualizer,
  elementScroll,
  observeElementOffset,
  observeElementRect,
  type VirtualizerOptions,
} from '@tanstack/virtual-core';

export type ElementVirtualizer = Virtualizer<HTMLDivElement, HTMLDivElement>;

type Options = Omit<
  VirtualizerOptions<HTMLDivElement, HTMLDivElement>,
  'observeElementRect' | 'observeElementOffset' | 'scrollToFn'
>;

/** What a render draws: which rows, and where (the total moves when a row's size does). */
function drawn(instance: ElementVirtualizer): string {
  const indexes = instance.getVirtualIndexes();
  return `${indexes[0]}:${indexes[indexes.length - 1]}:${indexes.length}:${instance.getTotalSize()}`;
}

export function useVirtualizer(options: Options): ElementVirtualizer {
  const [, rerender] = useReducer((count: number) => count + 1, 0);
  const rendered = useRef('');
  const resolved: VirtualizerOptions<HTMLDivElement, HTMLDivElement> = {
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    ...options,
    onChange: (instance, sync) => {
      if (drawn(instance) !== rendered.current) rerender(0);
      options.onChange?.(instance, sync);
    },
  };
  const [instance] = useState(() => new Virtualizer<HTMLDivElement, HTMLDivElement>(resolved));
  instance.setOptions(resolved);
  useLayoutEffect(() => instance._didMount(), []);
  useLayoutEffect(() => {
    instance._willUpdate();
    rendered.current = drawn(instance);
  });
  return instance;
}

/**
 * Row sizes forgotten when what they depend on changes (wrapping turned on or off, a phone's
 * stacked layout), and, when rows are measured, the rows drawn measured again at once. Clearing
 * alone left those at their estimates: a drawn row is measured when its element is first given
 * (from then on its size comes from the cache) or when it resizes, and the clearing came after
 * both (an effect after paint), so wrapped rows of three lines were placed a line apart, drawn on
 * top of each other. Before paint, so no frame shows rows at their estimates.
 */
export function useRemeasure(instance: ElementVirtualizer, measured: boolean, deps: unknown[]): void {
  useLayoutEffect(() => {
    instance.measure();
    if (!measured) return;
    const rows = instance.options.getScrollElement()?.querySelectorAll<HTMLDivElement>('[data-index]') ?? [];
    for (const row of rows) instance.measureElement(row);
  }, deps);
}
