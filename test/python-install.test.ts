// Installing the Python client the way its README says, with no package index to fetch from.
// (test/python.test.ts installs it with --no-build-isolation into a --target directory.)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PYTHON, tempDir } from './helpers.js';
import { CLIENT, missing, noPython } from './python-harness.js';

const noVenv = noPython ?? missing('venv and pip for /usr/bin/python3 (python3-venv, python3-pip)', () => spawnSync(PYTHON, ['-c', 'import venv, ensurepip']).status === 0);

// no index, no local wheels, no constraints: only what pip has to build with
const OFFLINE = { ...process.env, PIP_NO_INDEX: '1', PIP_FIND_LINKS: '', PIP_CONSTRAINT: '', PIP_EXTRA_INDEX_URL: '', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_CONFIG_FILE: '/dev/null' };

function newVenv(): string {
  const venv = join(tempDir('runlog-venv-'), 'venv');
  const made = spawnSync(PYTHON, ['-m', 'venv', '--system-site-packages', venv], { encoding: 'utf8' });
  expect(made.status, made.stderr).toBe(0);
  return venv;
}

function imported(venv: string): string {
  return spawnSync(join(venv, 'bin', 'python'), ['-c', 'import runlog; print(runlog.__version__, runlog.__file__)'], { cwd: tempDir(), encoding: 'utf8' }).stdout.trim();
}

describe.skipIf(noVenv !== undefined)('the Python client: a plain pip install, offline', () => {
  it('installs with `pip install ./clients/python` (build isolation on) in a venv, with no index to fetch a build backend from', () => {
    // the build backend requires nothing (clients/python/_build): when it was setuptools, pip's
    // isolated build environment had to fetch it, and a machine without an index could not install
    const source = join(tempDir(), 'python');
    cpSync(CLIENT, source, { recursive: true });
    const venv = newVenv();
    const pip = spawnSync(join(venv, 'bin', 'pip'), ['install', '--quiet', source], { encoding: 'utf8', env: OFFLINE });
    expect(pip.status, pip.stderr).toBe(0);
    const [version, file] = imported(venv).split(' ');
    expect(version).toBe('0.1.0');
    expect(file).toMatch(new RegExp(`^${venv}/lib/python3\\.\\d+/site-packages/runlog/__init__\\.py$`));
    expect(existsSync(join(source, 'build'))).toBe(false); // nothing built in the source tree

    const removed = spawnSync(join(venv, 'bin', 'pip'), ['uninstall', '--yes', '--quiet', 'runlog'], { encoding: 'utf8', env: OFFLINE });
    expect(removed.status, removed.stderr).toBe(0);
    expect(imported(venv)).toBe('');
  }, 120_000);

  it('installs editable (`pip install -e`): the source directory is what is imported', () => {
    const source = join(tempDir(), 'python');
    cpSync(CLIENT, source, { recursive: true });
    const venv = newVenv();
    const pip = spawnSync(join(venv, 'bin', 'pip'), ['install', '--quiet', '-e', source], { encoding: 'utf8', env: OFFLINE });
    expect(pip.status, pip.stderr).toBe(0);
    expect(imported(venv)).toBe(`0.1.0 ${join(source, 'runlog', '__init__.py')}`);
  }, 120_000);
});
