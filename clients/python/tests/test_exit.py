"""`raise SystemExit(n)` at the top level of a program with a runlog.Handler ends its run with exit
code n on Python 3.12+ (sys.monitoring: see runlog/_exit.py); before 3.12 nothing sees it at a
cost a program would accept, and the run is `completed` (documented). The programs run under each
Python 3.12+ found: this one, those in RUNLOG_TEST_PYTHONS (paths, os.pathsep between them),
python3.12… on PATH, pyenv's; skipped, saying so, when there is none."""
import glob
import os
import subprocess
import sys
import unittest

from test_handler import WithHub

CLIENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _modern_pythons():
    candidates = [sys.executable] + [p for p in os.environ.get("RUNLOG_TEST_PYTHONS", "").split(os.pathsep) if p]
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidates += sorted(glob.glob(os.path.join(directory, "python3.1[2-9]")))
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")))
    found = {}
    for path in candidates:
        try:  # a pyenv shim for a version not selected answers with an error: passed over
            done = subprocess.run([path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            continue
        version = done.stdout.strip()
        if done.returncode == 0 and tuple(int(n) for n in version.split(".")) >= (3, 12) and version not in found:
            found[version] = path
    return found


MODERN = _modern_pythons()


class RaiseSystemExitTest(WithHub):
    def end_of(self, python: str, body: str):
        code = "\n".join([
            "import logging, runlog",
            "handler = runlog.Handler(hub=%r, spool_dir=%r)" % (self.hub.url, self.spool),
            "logging.getLogger().addHandler(handler)",
            "logging.getLogger().setLevel(logging.INFO)",
            "print(handler.run_id, flush=True)",
            "logging.info('working')",
            body,
        ])
        env = dict(os.environ, PYTHONPATH=CLIENT, RUNLOG_TOKEN="", RUNLOG_TOKEN_FILE="")
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, timeout=60)
        run_id = done.stdout.split()[0]
        end = self.hub.finished.get(run_id, {})
        return done.returncode, end.get("status"), end.get("exit_code"), end.get("error_message")

    def test_raise_system_exit_at_the_top_level_ends_the_run_with_its_code(self) -> None:
        if not MODERN:
            self.skipTest("no Python 3.12+ here (sys.monitoring); RUNLOG_TEST_PYTHONS=/path/to/python3.12 names one")
        for version, python in MODERN.items():
            with self.subTest(python=version):
                self.assertEqual(self.end_of(python, "raise SystemExit(7)"), (7, "failed", 7, "exit code 7"))
                self.assertEqual(self.end_of(python, "def main():\n    raise SystemExit(4)\nmain()"), (4, "failed", 4, "exit code 4"))
                self.assertEqual(self.end_of(python, "raise SystemExit('config not found')"), (1, "failed", 1, "config not found"))
                self.assertEqual(self.end_of(python, "raise SystemExit(0)"), (0, "completed", None, None))
                self.assertEqual(self.end_of(python, "raise SystemExit"), (0, "completed", None, None))
                # caught, and the program went on to its end
                self.assertEqual(self.end_of(python, "try:\n    raise SystemExit(5)\nexcept SystemExit:\n    pass"), (0, "completed", None, None))
                # another exception after a caught one: sys.excepthook's end, as before
                ended = self.end_of(python, "try:\n    raise SystemExit(5)\nexcept SystemExit:\n    pass\nraise ValueError('bad input')")
                self.assertEqual(ended, (1, "failed", None, "ValueError: bad input"))
                self.assertEqual(self.end_of(python, "import sys\nsys.exit(3)"), (3, "failed", 3, "exit code 3"))
