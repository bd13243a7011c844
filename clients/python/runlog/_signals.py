"""SIGTERM, the polite kill (`kill`, `docker stop`, systemd, a scheduler taking a node back), ends
a Python program without running atexit: the records still queued (up to 0.2 s of them, or all
of them in a short program) were lost and the run left `running` until its lease ran out.

So while SIGTERM would kill the program outright (its disposition is still the default), the
client takes it: the runs are ended `failed` ("killed by SIGTERM") after what is queued is sent
(or spooled, the hub away: one try, as at exit), the worker sends its last heartbeat, and then
the default is put back and the signal raised again, so the process still dies of SIGTERM (exit
status 143) as it would have. A program that handles SIGTERM itself is left alone (its handler
decides; atexit then runs as usual). Installed from the main thread only (Python's rule); a forked
child's copy does nothing but die.

The runs are ended on a thread of their own while the main thread goes on (the handler may have
interrupted it inside a lock that ending needs: a log call's); a second SIGTERM meanwhile kills at once.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Callable, List, Optional

_callbacks: List[Callable[[], None]] = []
_installed_in: Optional[int] = None  # the pid that installed the handler


def at_sigterm(callback: Callable[[], None]) -> None:
    """Calls `callback` (on the main thread) when SIGTERM comes, before the process dies of it."""
    global _installed_in
    if callback not in _callbacks:
        _callbacks.append(callback)
    if _installed_in == os.getpid() or threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return  # the program's own handler, or SIG_IGN: its choice
        signal.signal(signal.SIGTERM, _on_sigterm)
        _installed_in = os.getpid()
    except (ValueError, OSError, AttributeError):  # no signals here (an embedded interpreter)
        pass


def _on_sigterm(signum: int, frame: object) -> None:
    # the default back at once: a second SIGTERM kills outright (the way to say "now")
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _installed_in != os.getpid():
        os.kill(os.getpid(), signal.SIGTERM)
        return
    # The work is done on a thread of its own, and this handler returns: it runs on the main
    # thread between two bytecodes, maybe inside a lock the work needs (a log call holds the
    # worker's buffer while the last heartbeat takes it). Not a daemon: a program that ends
    # meanwhile waits for it before exiting, and dies of SIGTERM all the same.
    try:
        threading.Thread(target=_end_and_die, name="runlog-sigterm").start()
    except RuntimeError:  # no new thread at interpreter shutdown (atexit, Python 3.12+): here, then
        _end_and_die()


def _end_and_die() -> None:
    for callback in list(_callbacks):
        try:
            callback()
        except Exception:  # noqa: BLE001 - the process must die of it whatever happens
            pass
    os.kill(os.getpid(), signal.SIGTERM)
