import { describe, expect, it } from 'vitest';
import { describeStore } from './open.js';
import { withLocalDefaults } from './postgres/url.js';

describe('a PostgreSQL URL', () => {
  it('is shown without its password, given in the authority or as a parameter', () => {
    expect(describeStore({ db: 'postgres://me:S3cret@db:5432/runlog', dataDir: '/d' })).toBe('postgres://me:***@db:5432/runlog');
    expect(describeStore({ db: 'postgres://me@/runlog?host=/var/run/postgresql&password=S3cret&sslmode=disable', dataDir: '/d' })).toBe(
      'postgres://me@/runlog?host=/var/run/postgresql&password=***&sslmode=disable',
    );
  });

  it('leaving out the host and the user means what it means to psql: the user this runs as, PGHOST and PGUSER first', () => {
    const user = new URL(withLocalDefaults('postgres:///runlog', {})).searchParams.get('user');
    expect(user).toBeTruthy();
    expect(new URL(withLocalDefaults('postgres:///runlog', { PGUSER: 'x', PGHOST: 'h' })).search).toBe('');
    expect(withLocalDefaults('postgres://me:pw@db:5433/runlog', {})).toBe('postgres://me:pw@db:5433/runlog');
    expect(withLocalDefaults('not a url', {})).toBe('not a url');
  });
});
