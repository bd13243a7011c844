"""runlog.run: a block (or a function) whose logging goes to a run of its own.

    with runlog.run("nightly-eval") as r:       # r.run_id
        logging.info("evaluating")              # → the run, while the block runs
    # ended: completed; an exception inside fails it with "ExcType: message" and goes on up;
    # sys.exit() inside ends it as the process ends: completed for 0, failed with the exit code else

    @runlog.run("train")                        # each call is a run of its own
    def train(): ...                            # (an `async def` too: each awaited call)

The run's lease is renewed while the block runs, so a process that dies inside it (SIGKILL, OOM)
leaves a run the hub fails ("runner lost") instead of one `running` forever.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sys
from typing import Any, Dict, Optional, Union

from ._http import short
from .handler import Handler, _close_block, _open_block, error_message_of


class run(contextlib.ContextDecorator):
    def __init__(
        self,
        name: Optional[str] = None,
        run_id: Optional[str] = None,
        hub: Optional[str] = None,
        token: Optional[str] = None,
        *,
        logger: Union[None, str, logging.Logger] = None,
        level: Optional[int] = None,
        labels: Optional[Dict[str, str]] = None,
        **options: Any,
    ) -> None:
        """`logger`: whose records go to the run (default the root logger: everything that
        propagates); `level`: set on that logger for the block when given (the root logger's
        default, WARNING, would keep INFO lines out)."""
        self._args = dict(name=name, run_id=run_id, hub=hub, token=token, logger=logger, level=level, labels=labels, **options)
        self.handler: Optional[Handler] = None
        self.run_id: Optional[str] = None
        self._target: Optional[logging.Logger] = None
        self._previous_level: Optional[int] = None

    def _recreate_cm(self) -> "run":
        return run(**self._args)  # as a decorator: each call is a new run

    def __call__(self, func: Any) -> Any:
        if not inspect.iscoroutinefunction(func):
            return super().__call__(func)

        # an `async def`: the call only makes the coroutine; the run is its awaiting, or it would
        # end (completed, no lines) before any of it ran
        @functools.wraps(func)
        async def inner(*args: Any, **kwargs: Any) -> Any:
            with self._recreate_cm():
                return await func(*args, **kwargs)

        return inner

    def __enter__(self) -> "run":
        args = dict(self._args)
        logger = args.pop("logger")
        level = args.pop("level")
        name = args.pop("name")
        run_id = args.pop("run_id")
        hub = args.pop("hub")
        token = args.pop("token")
        self.handler = Handler(run_id, hub, token, name=name, end_at_exit=False, **args)
        self.run_id = self.handler.run_id
        target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
        self._target = target
        if level is not None:
            self._previous_level = target.level
            target.setLevel(level)
        _open_block(self.handler, target)  # its records go to this run alone (see handler.py)
        return self

    async def __aenter__(self) -> "run":  # `async with runlog.run(...)`: the same block
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return self.__exit__(exc_type, exc, tb)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        handler, target = self.handler, self._target
        if handler is None or target is None:
            return False
        try:
            _close_block(handler, target)
            if self._previous_level is not None:
                target.setLevel(self._previous_level)
            if exc is None or (isinstance(exc, SystemExit) and exc.code in (None, 0)):
                handler.end("completed")  # sys.exit(0) inside the block is a clean end
            elif isinstance(exc, SystemExit) and isinstance(exc.code, int):
                handler.end("failed", "exit code %d" % exc.code, exit_code=exc.code)
            elif isinstance(exc, SystemExit):
                handler.end("failed", str(exc.code)[:1000], exit_code=1)  # sys.exit("message") exits 1
            else:
                handler.handle(logging.LogRecord("runlog", logging.ERROR, "", 0, "Run failed", None, (exc_type, exc, tb)))
                handler.end("failed", error_message_of(exc))
        except Exception as error:  # noqa: BLE001 - the block's own outcome is what matters
            sys.stderr.write("runlog: could not end run %s: %s\n" % (self.run_id, short(error)))
        return False
