import { describe, expect, it } from 'vitest';
import { href, parseHash } from './router.ts';

describe('parseHash', () => {
  it('reads a run and its #L line link', () => {
    expect(parseHash('#/runs/r-1:a.b/L123')).toMatchObject({ page: 'run', id: 'r-1:a.b', line: 123 });
    expect(parseHash(href.run('r-1:a.b', 123))).toMatchObject({ page: 'run', id: 'r-1:a.b', line: 123 });
    expect(parseHash('#/runs/x')).toMatchObject({ page: 'run', id: 'x', line: null });
    // the viewer's search and level, either path
    const route = parseHash('#/runs/x/L5?q=nan&level=ERROR');
    expect(route).toMatchObject({ page: 'run', id: 'x', line: 5 });
    expect(route.page === 'run' && route.query.toString()).toBe('q=nan&level=ERROR');
  });

  it('defaults to the runs, keeps filters in the query, and says when nothing matches', () => {
    expect(parseHash('').page).toBe('runs');
    const route = parseHash('#/runs?status=failed');
    expect(route.page === 'runs' && route.query.get('status')).toBe('failed');
    expect(parseHash('#/runs/x/nope').page).toBe('missing');
  });
});

describe('href.task', () => {
  it('links a task to its run when the id can be a run id, and not otherwise', () => {
    expect(href.task('task-1')).toBe('#/runs/task-1');
    expect(href.task('r-1:a.b')).toBe('#/runs/r-1%3Aa.b');
    // the seeds' worker names its tasks as it likes, through its PostgreSQL function
    expect(href.task('job?x=1&y=2')).toBeNull();
    expect(href.task('vast ai/task #3')).toBeNull();
    expect(href.task('worker:w1')).toBeNull();
    expect(href.task('')).toBeNull();
  });
});

describe('a line link out of range', () => {
  it('shows the run with no line for L0 or a line past 2^53 - 1', () => {
    expect(parseHash('#/runs/x/L0')).toMatchObject({ page: 'run', id: 'x', line: null });
    expect(parseHash('#/runs/x/L99999999999999999999')).toMatchObject({ page: 'run', id: 'x', line: null });
    expect(parseHash('#/runs/x/L1')).toMatchObject({ page: 'run', id: 'x', line: 1 });
  });
});
