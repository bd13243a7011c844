import { describe, expect, it } from 'vitest';
import { parseSshUrl } from './ssh.js';

describe('parseSshUrl', () => {
  it('reads user, host, port and path; %XX decoded, /~/ relative to the remote home', () => {
    expect(parseSshUrl('ssh://me@gpu-box:2222/~/outputs/run%20a.log')).toMatchObject({ user: 'me', host: 'gpu-box', port: 2222, path: 'outputs/run a.log' });
    expect(parseSshUrl('ssh://[::1]/var/log/app.log')).toMatchObject({ user: undefined, host: '::1', port: undefined, path: '/var/log/app.log' });
    expect(parseSshUrl('ssh://gpu-box')).toBeUndefined();
  });

  it('takes a % that starts no %XX as itself (a file named 50%.log), rather than failing with "URI malformed"', () => {
    expect(parseSshUrl('ssh://gpu-box/tmp/50%.log')).toMatchObject({ path: '/tmp/50%.log' });
    expect(parseSshUrl('ssh://gpu-box/tmp/a%zz%20b.log')).toMatchObject({ path: '/tmp/a%zz%20b.log' });
    expect(parseSshUrl('ssh://100%user@gpu-box/tmp/x.log')).toMatchObject({ user: '100%user' });
  });
});
