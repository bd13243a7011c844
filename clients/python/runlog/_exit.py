"""How the program ends when it calls sys.exit(n): the code a Handler's run ends with.

A SystemExit that ends the program reaches neither sys.excepthook nor atexit (the interpreter
takes the exit code from it and drops it before atexit runs), so a program ending by sys.exit(3)
left its run `completed`. So sys.exit is wrapped: a call on the main thread notes its code, then
exits as before. A noted call counts only when it ended the program: the main module's frame then
stopped where the exception went through it, not at its final RETURN (a program that caught the
SystemExit, as IPython or a retry loop does, went on to its end: its run is `completed`). A
sys.exit() in another thread ends only that thread and is not noted.

The builtins exit(n) and quit(n) are wrapped the same way. `raise SystemExit(n)` calls nothing:
on Python 3.12+ it is seen as it leaves the main module's frame (sys.monitoring's PY_UNWIND, the
one event that says which exception ends a frame; it cannot be asked for one code object alone,
so its callback runs for every Python frame an exception unwinds, ~50 ns each (bench: 330 → 390 ns
for a raise caught one frame up), never on a call or a return, and is switched off once the main
module has ended). Before 3.12 nothing in the standard library sees it at that cost: a trace or
profile function (sys.settrace, sys.setprofile) runs on every call, a SystemExit subclass put in
builtins would not catch the interpreter's own SystemExit in `except SystemExit:`, and by atexit
the exception and the frame's stack are gone. There the run of a program that ends by
`raise SystemExit(n)` is `completed`. Not seen either: os._exit (no atexit at all).
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
# how the main module's frame ended, seen by sys.monitoring (3.12+): (code,) of the SystemExit
# that left it, () for another exception; None: not seen (it returned, or no sys.monitoring)
_unwound: Optional[Tuple[Any, ...]] = None
# sys.monitoring tool ids no tool is named for (0-2 and 5: debugger, coverage, profiler, optimizer)
_TOOL_IDS = (4, 3)
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
    try:
        _watch_unwind(_main_frame)
    except Exception:  # noqa: BLE001 - a tool id taken meanwhile: sys.exit is still seen
        pass
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


def _watch_unwind(main_frame: Optional[FrameType]) -> None:
    """Python 3.12+: notes the exception that leaves the main module's frame (see the top)."""
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None or main_frame is None:
        return
    main_code = main_frame.f_code
    for tool in _TOOL_IDS:
        try:
            monitoring.use_tool_id(tool, "runlog")
            break
        except ValueError:  # taken by another tool
            continue
    else:
        return

    def unwound(code: Any, offset: int, exception: BaseException) -> None:
        global _unwound
        if code is not main_code:
            return
        _unwound = (exception.code,) if isinstance(exception, SystemExit) else ()
        monitoring.set_events(tool, 0)  # the program is ending: nothing more to watch

    monitoring.register_callback(tool, monitoring.events.PY_UNWIND, unwound)
    monitoring.set_events(tool, monitoring.events.PY_UNWIND)


def _ended_by_exception(frame: FrameType) -> bool:
    try:
        return frame.f_code.co_code[frame.f_lasti] not in _RETURNS
    except Exception:  # noqa: BLE001 - an interpreter whose frames say otherwise: trust the note
        return True


def exit_outcome() -> Optional[Tuple[str, str, int]]:
    """(status, error_message, exit_code) when a sys.exit() with a failing code ended the
    program, None for a normal end (sys.exit(0), sys.exit(None), no sys.exit, or one caught)."""
    if _unwound is not None:  # seen leaving the main module (3.12+): sys.exit or raise SystemExit
        if not _unwound:
            return None  # another exception: sys.excepthook's to say
        (status,) = _unwound
    elif _noted is None:
        return None
    elif _main_frame is not None and not _ended_by_exception(_main_frame):
        return None  # the program caught it and ran to its end
    else:
        (status,) = _noted
    if status is None:
        return None
    if isinstance(status, int):  # True is 1; the process's status is the low byte (256 exits 0)
        code = int(status) & 0xFF
        return None if code == 0 else ("failed", "exit code %d" % code, code)
    return ("failed", str(status)[:1000], 1)  # sys.exit("message") prints it and exits 1
