import { describe, expect, it } from 'vitest';
import { fullTime } from './format.ts';

describe('fullTime', () => {
  it('names the zone of the local time it gives', () => {
    const text = fullTime('2026-01-02T03:04:05Z');
    // toLocaleString's zone is the process's (the browser's on the page); whichever it is, it is said
    const zone = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(new Date('2026-01-02T03:04:05Z')).find((part) => part.type === 'timeZoneName')!.value;
    expect(text.endsWith(` ${zone}`)).toBe(true);
    expect(text).toContain('2026');
    expect(fullTime(null)).toBe('');
  });
});
