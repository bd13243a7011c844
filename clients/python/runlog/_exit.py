"""How the program ends when it calls sys.exit(n): the code a Handler's run ends with.

A SystemExit that ends the program reaches neither sys.excepthook nor atexit (the interpreter
takes the exit code from it and drops it before atexit runs), so a program ending by sys.exit(3)
left its run `completed`. So sys.exit is wrapped: a call on the main thread notes its code, then
exits as before. A noted call counts only when it ended the program: the main module's frame then
stopped where the exception went through it, not at its final RETURN (a program that caught the
SystemExit, as IPython or a retry loop does, went on to its end: its run is `completed`). A
sys.exit() in another thread ends only that thread and is not noted.

The builtins exit(n) and quit(n) are wrapped the same way. Not seen: `raise SystemExit(n)` (it
calls nothing), os._exit (no atexit at all).
"""
from __future__ import annotations

import builtins
import dis
import functools
import sys
import threading
from types import FrameType
from typing import Any, Optional, Tuple

_RETURNS = {dis.opmap[name] for name in ("RETURN_VALUE", "RETURN_CONST") if name in dis.opmap}
_noted: Optional[Tuple[Any]] = None  # (code,) of the last sys.exit() on the main thread
_main_frame: Optional[FrameType] = None
_installed = False


def watch_exit() -> None:
    """Wraps sys.exit (once) and finds the main module's frame, for exit_outcome at exit."""
    global _installed, _main_frame
    if _installed:
        return
    _installed = True
    try:
        _main_frame = _find_main_frame()
    except Exception:  # noqa: BLE001 - without it every noted exit counts
        _main_frame = None
    original = sys.exit

    @functools.wraps(original)
    def exit(status: Any = None) -> Any:  # noqa: A001 - it is sys.exit
        global _noted
        if threading.current_thread() is threading.main_thread():
            _noted = (status,)
        return original(status)

    sys.exit = exit
    # the builtins exit() and quit() (site's Quitter: scripts call exit(1) too) raise SystemExit
    # themselves, not through sys.exit: noted the same way
    for name in ("exit", "quit"):
        quitter = getattr(builtins, name, None)
        if quitter is not None and callable(quitter) and not isinstance(quitter, _NotingQuitter):
            setattr(builtins, name, _NotingQuitter(quitter))


class _NotingQuitter:
    """builtins.exit / quit, noting the code as sys.exit does; shown as the original (`exit` typed
    at the prompt still says how to leave)."""

    def __init__(self, quitter: Any) -> None:
        self._quitter = quitter

    def __repr__(self) -> str:
        return repr(self._quitter)

    def __call__(self, code: Any = None) -> Any:
        global _noted
        if threading.current_thread() is threading.main_thread():
            _noted = (code,)
        return self._quitter(code)


def _find_main_frame() -> Optional[FrameType]:
    main = sys.modules.get("__main__")
    main_globals = getattr(main, "__dict__", None)
    if main_globals is None:
        return None
    if threading.current_thread() is threading.main_thread():
        frame: Optional[FrameType] = sys._getframe()
    else:  # a Handler made on another thread: the main thread's stack
        frame = sys._current_frames().get(threading.main_thread().ident or -1)
    found = None
    while frame is not None:  # the outermost: `python -m` runs the module under runpy's frames
        if frame.f_globals is main_globals and frame.f_code.co_name == "<module>":
            found = frame
        frame = frame.f_back
    return found


def _ended_by_exception(frame: FrameType) -> bool:
    try:
        return frame.f_code.co_code[frame.f_lasti] not in _RETURNS
    except Exception:  # noqa: BLE001 - an interpreter whose frames say otherwise: trust the note
        return True


def exit_outcome() -> Optional[Tuple[str, str, int]]:
    """(status, error_message, exit_code) when a sys.exit() with a failing code ended the
    program, None for a normal end (sys.exit(0), sys.exit(None), no sys.exit, or one caught)."""
    if _noted is None:
        return None
    if _main_frame is not None and not _ended_by_exception(_main_frame):
        return None  # the program caught it and ran to its end
    (status,) = _noted
    if status is None:
        return None
    if isinstance(status, int):  # True is 1; the process's status is the low byte (256 exits 0)
        code = int(status) & 0xFF
        return None if code == 0 else ("failed", "exit code %d" % code, code)
    return ("failed", str(status)[:1000], 1)  # sys.exit("message") prints it and exits 1
