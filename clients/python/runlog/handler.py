"""runlog.Handler: Python logging (and loguru) into a run of the hub.

    import logging, runlog
    logging.basicConfig(level=logging.INFO)
    logging.getLogger().addHandler(runlog.Handler())   # a new run named after the program
    logging.info("model loaded")

The logging call only appends the record to a bounded deque (see _shipper.py): the message is
formatted, numbered and sent on the shipper's thread. The run ends when the program exits:
`completed`, or `failed` with "ExcType: message" when an uncaught exception ends it (the hook
chains to sys.excepthook; the traceback also goes to the run as one ERROR line), or with the exit
code when sys.exit(n) ends it with another code than 0 (see _exit.py).
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import re
import shlex
import sys
import threading
import traceback
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._env import level_name, new_run_id, program_name, resolve_hub, resolve_token, run_id_problem
from ._exit import exit_outcome, watch_exit
from ._http import Hub
from ._shipper import RunShipper
from ._signals import at_sigterm

_FORMATTER = logging.Formatter()


class Handler(logging.Handler):
    """A logging.Handler whose records go to run `run_id` (created when the hub does not have it;
    default: a new run named after the program). Hub and token: the arguments, else RUNLOG_HUB and
    RUNLOG_TOKEN / RUNLOG_TOKEN_FILE."""

    def __init__(
        self,
        run_id: Optional[str] = None,
        hub: Optional[str] = None,
        token: Optional[str] = None,
        *,
        name: Optional[str] = None,
        labels: Optional[Dict[str, str]] = None,
        level: int = logging.NOTSET,
        spool_dir: Optional[str] = None,
        lease_s: float = 10.0,
        max_records: int = 100_000,
        exit_timeout: float = 10.0,
        end_at_exit: bool = True,
        on_cancel: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> None:
        # checked before logging.Handler.__init__: that registers the handler for logging's own
        # flush at exit, which would raise a second traceback on a handler never finished
        problem = None if run_id is None else run_id_problem(run_id)
        if problem is not None:
            raise ValueError("run_id: %s, got %r" % (problem, run_id))
        hub_url = resolve_hub(hub)  # a ValueError too, before logging knows of the handler
        super().__init__(level)
        self.run_id = run_id or new_run_id()
        self._block = False  # a runlog.run block's handler (see _open_block)
        self.hub_url = hub_url
        self._shipper = RunShipper(
            Hub(self.hub_url, resolve_token(token)),
            self.run_id,
            convert=to_json,
            name=name if name is not None else (program_name() if run_id is None else None),
            command=_command_line(),
            labels=labels,
            lease_s=lease_s,
            max_records=max_records,
            exit_timeout=exit_timeout,
            spool_dir=spool_dir,
            on_cancel=on_cancel,
            fresh=run_id is None,
        )
        # what handle() needs, one attribute away (see handle)
        self._queue = self._shipper.queue
        self._crowded = self._shipper.crowded
        self._put = self._shipper.put
        if end_at_exit:
            _end_at_exit(self)

    def __repr__(self) -> str:
        return "<runlog.Handler run=%s hub=%s>" % (self.run_id, self.hub_url)

    def handle(self, record: logging.LogRecord) -> Any:
        # The hot path, inlined (each Python call costs as much as the work): no handler lock (a
        # deque append is atomic), the record's fields as one flat tuple (see _queued), one append.
        if _blocks_open:  # rare: a runlog.run block is open (see _open_block)
            owner = record.__dict__.get("_runlog_block")
            if owner is not None and owner is not self:
                return False  # a block's run took it: it is that run's alone
        if self.filters:
            result = self.filter(record)
            if not result:
                return result
            if isinstance(result, logging.LogRecord):  # Python 3.12+: a filter may replace the record
                record = result
        if self._block:
            record._runlog_block = self
        msg, args = record.msg, record.args
        if type(msg) is not str or type(args) is not tuple or not _plain_types(map(type, args)):
            msg, args = _formatted(record), ()  # also args None or a mapping (logging's one-mapping form)
        task_id = getattr(record, "task_id", None)
        if task_id is None:
            extra = getattr(record, "extra", None)
            if extra is not None:
                task_id, msg = _loguru_fields(extra, msg, record)
        queue = self._queue
        if len(queue) >= self._shipper.wake_at:  # rare: a batch is waiting (wake the shipper), or the queue is full
            self._crowded()
        queue.append((record.created, record.levelno, record.name, msg, record.exc_info, record.exc_text, record.stack_info, task_id) + args)
        return record

    def emit(self, record: logging.LogRecord) -> None:
        self._put(_queued(record))

    def flush(self, timeout: float = 5.0) -> None:
        """Waits (`timeout` s at most) until every record logged before the call is at the hub (or
        in the spool, while the hub is away)."""
        self._shipper.flush(timeout)

    def close(self) -> None:
        """Ends the run (completed, unless end() said otherwise), sending what is left first."""
        self.end()
        super().close()

    def end(self, status: str = "completed", error_message: Optional[str] = None, exit_code: Optional[int] = None, signal: Optional[str] = None) -> None:
        """Sends what is left and ends the run with this outcome; the first end stands."""
        self._shipper.close(status, error_message, exit_code, signal)

    @property
    def stats(self) -> Dict[str, int]:
        return {**self._shipper.stats, "dropped": self._shipper.dropped, "queued": len(self._shipper.queue)}


def loguru_sink(run_id: Optional[str] = None, hub: Optional[str] = None, token: Optional[str] = None, handler: Optional[Handler] = None, **options: Any) -> Callable[[Any], None]:
    """A loguru sink: `logger.add(runlog.loguru_sink())`. Takes loguru's record as it is (its level,
    message, exception and `extra["task_id"]`), whatever the sink's format. The Handler it feeds is
    `sink.handler`. (`logger.add(runlog.Handler(), format="{message}")` works too.)"""
    target = handler if handler is not None else Handler(run_id, hub, token, **options)
    put = target._shipper.put

    def sink(message: Any) -> None:
        try:
            record = message.record  # loguru's record: a dict made for this message
            exception = record.get("exception")
            if exception is not None and exception.traceback is None and exception.type is not None:
                # enqueue=True: loguru pickled the record and its traceback is gone, but the
                # message it formatted before that still holds it
                record = {**record, "formatted": str(message)}
            put(record)
        except Exception:  # noqa: BLE001 - never into the program
            pass

    sink.handler = target  # type: ignore[attr-defined]
    return sink


# --- runlog.run blocks ----------------------------------------------------------------------
# A block's logging goes to a run of its own, not also to the runs of runlog Handlers added before
# it (an outer Handler on the root logger, an enclosing block). Its handler goes first on its
# logger and marks each record it takes; a runlog Handler that meets a record marked by another
# handler leaves it. Handlers on loggers below the block's see a record before it is marked and
# keep it (they are more specific than the block), and so does a Handler fed directly (loguru),
# which the block never sees. Other handlers (the console, a file) are not concerned.
_blocks_open = 0  # while 0, Handler.handle reads nothing more (its cost is every logging call's)
# re-entrant: the SIGTERM handler (_end_at_sigterm) runs on the main thread between two bytecodes,
# maybe inside one of these locks; a plain Lock hung the process there, SIGTERM after SIGTERM
_blocks_lock = threading.RLock()
_logging_lock = getattr(logging, "_lock", None) or threading.RLock()  # logging's module lock (Logger.addHandler's)


_block_handlers: List[Handler] = []  # the open blocks' handlers, innermost last (ended by SIGTERM)


def _open_block(handler: Handler, target: logging.Logger) -> None:
    global _blocks_open
    handler._block = True
    with _blocks_lock:
        _blocks_open += 1
        _block_handlers.append(handler)
    at_sigterm(_end_at_sigterm)
    with _logging_lock:  # as Logger.addHandler, but first: it must mark a record before the others see it
        if handler not in target.handlers:
            target.handlers = [handler] + target.handlers  # a new list: a logging call may be walking the old one


def _close_block(handler: Handler, target: logging.Logger) -> None:
    global _blocks_open
    target.removeHandler(handler)
    with _blocks_lock:
        _blocks_open -= 1
        if handler in _block_handlers:
            _block_handlers.remove(handler)


# What a logging call leaves in the queue: one flat tuple of the record's fields, not the record:
# (created, levelno, name, msg, exc_info, exc_text, stack_info, task_id, *args). The message is
# formatted on the shipper thread when its arguments are plain values (they cannot change
# meanwhile), at once otherwise (an object's __str__ is called now, on the caller's thread, as
# logging would). Not the LogRecord: the queue holds thousands of records whenever the program logs
# faster than the shipper sends, and the cyclic GC's collections mostly run on the caller's thread.
# A LogRecord is GC-tracked as long as it lives (and ~630 bytes queued, against ~220 for the
# tuple); a tuple of strings and numbers is untracked by the first collection that sees it. Not a
# tuple holding the args tuple either: that collection checks the outer tuple before it has
# untracked the inner one, so the outer stays tracked, reaches the old generation and brings full
# collections on (which also walk the whole queue). Measured with bench/python-handler.js's calls:
# the LogRecord cost more than the nested tuple, the flat tuple least.
_PLAIN = frozenset((int, float, str, bool, type(None), bytes))
_plain_types = _PLAIN.issuperset  # _plain_types(map(type, args)): every argument's type is plain
_CREATED, _LEVELNO, _NAME, _MSG, _EXC_INFO, _EXC_TEXT, _STACK, _TASK, _ARGS = range(9)


def _queued(record: logging.LogRecord) -> Any:
    """What Handler.handle queues, for callers of emit()."""
    msg, args = record.msg, record.args
    if type(msg) is not str or type(args) is not tuple or not _plain_types(map(type, args)):
        msg, args = _formatted(record), ()
    task_id = getattr(record, "task_id", None)
    if task_id is None:
        task_id, msg = _loguru_fields(getattr(record, "extra", None), msg, record)
    return (record.created, record.levelno, record.name, msg, record.exc_info, record.exc_text, record.stack_info, task_id) + args


def _formatted(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception as error:  # noqa: BLE001 - a bad % format must not lose the line
        # nor raise into the program: an object whose __str__ raises may have a __repr__ that does too
        return "%s %% %s (runlog: could not format: %s)" % (_safe_repr(record.msg), _safe_repr(record.args), _safe_repr(error, str))


def _safe_repr(value: Any, show: Callable[[Any], str] = repr) -> str:
    try:
        return show(value)
    except Exception:  # noqa: BLE001
        if type(value) is tuple:  # the arguments: each shown, so the one that raised is named
            return "(%s)" % ", ".join(_safe_repr(item) for item in value)
        if type(value) is dict:
            return "{%s}" % ", ".join("%s: %s" % (_safe_repr(k), _safe_repr(v)) for k, v in value.items())
        return "<%s object (its %s raised)>" % (type(value).__name__, show.__name__)


# loguru's default format, which it applies to a logging.Handler added without format="{message}":
# "2026-12-03 07:12:39.230 | INFO     | __main__:<module>:5 - hello". The run has the time and the
# level already; the prefix is taken off when it names this record's logger, function and line.
_LOGURU_PREFIX = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| [^|]+ \| ")


def _loguru_fields(extra: Any, msg: Any, record: logging.LogRecord) -> Tuple[Any, Any]:
    """A loguru record's task id (its extra's) and its message without loguru's default prefix."""
    task_id = _loguru_task_id(extra)
    if type(extra) is dict and type(msg) is str:
        msg = _without_loguru_prefix(msg, record)
    return task_id, msg


def _without_loguru_prefix(msg: str, record: logging.LogRecord) -> str:
    try:
        start = _LOGURU_PREFIX.match(msg)
        if start is None:
            return msg
        where = "%s:%s:%s - " % (record.name, record.funcName, record.lineno)
        return msg[start.end() + len(where):] if msg.startswith(where, start.end()) else msg
    except Exception:  # noqa: BLE001
        return msg


def _loguru_task_id(extra: Any) -> Any:
    """loguru through a Handler: logger.bind(task_id=…) arrives in record.extra."""
    return extra.get("task_id") if type(extra) is dict else None


def to_json(item: Any, seq: int) -> str:
    """A queued record (see _queued; or loguru's dict) → the hub's record shape, numbered `seq`, as
    JSON text: what json.dumps(…, ensure_ascii=False) makes of it (in a fixed key order), written
    directly: several times faster, and it leaves no dict behind for the cyclic GC to count."""
    if type(item) is not tuple:  # loguru's record (loguru_sink)
        wire = _loguru_to_wire(item)
        wire["seq"] = seq
        return json.dumps(wire, separators=(",", ":"), ensure_ascii=False, default=str)
    text = item[_MSG]
    if len(item) > _ARGS:
        args = item[_ARGS:]
        try:
            text = text % args
        except Exception as error:  # noqa: BLE001
            text = "%r %% %r (runlog: could not format: %s)" % (text, args, error)
    exc_info, exc = item[_EXC_INFO], item[_EXC_TEXT]
    if exc_info or exc:
        if not exc and exc_info:
            exc = _FORMATTER.formatException(exc_info)
        if exc and exc.strip():  # loguru puts the traceback in the message and sets exc_text "\n"
            text = text + "\n" + exc
    if item[_STACK]:
        text = text + "\n" + item[_STACK]
    levelno = item[_LEVELNO]
    task_id = item[_TASK]
    return _RECORD_JSON % (
        seq,
        int(item[_CREATED] * 1_000_000),
        _LEVEL_NAMES.get(levelno) or level_name(levelno),
        _json_string(text.rstrip("\n")),  # a line's end is not part of it
        _json_string(item[_NAME][:256]),
        ',"task_id":' + _json_string(str(task_id)[:128]) if task_id else "",
    )


_RECORD_JSON = '{"seq":%d,"timestamp":%d,"level":"%s","message":%s,"logger":%s,"source":"sdk"%s}'
_json_string = json.encoder.encode_basestring  # a str as a JSON string, as json.dumps(ensure_ascii=False) writes it
_LEVEL_NAMES = {level: level_name(level) for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)}


def _loguru_to_wire(record: Dict[str, Any]) -> Dict[str, Any]:
    text = str(record["message"])
    exception = record.get("exception")
    if exception is not None and exception.type is not None:
        formatted = record.get("formatted") or ""
        start = formatted.find("Traceback (most recent call last)") if exception.traceback is None else -1
        if start >= 0:  # see loguru_sink: the traceback as loguru formatted it
            text = text + "\n" + formatted[start:].rstrip("\n")
        else:
            text = text + "\n" + "".join(traceback.format_exception(exception.type, exception.value, exception.traceback)).rstrip("\n")
    wire: Dict[str, Any] = {
        "timestamp": int(record["time"].timestamp() * 1_000_000),
        "level": level_name(record["level"].no),
        "message": text.rstrip("\n"),
        "logger": str(record.get("name") or "loguru")[:256],
        "source": "sdk",
    }
    task_id = record.get("extra", {}).get("task_id")
    if task_id:
        wire["task_id"] = str(task_id)[:128]
    return wire


def _command_line() -> str:
    try:
        return " ".join(shlex.quote(part) for part in [os.path.basename(sys.executable or "python")] + sys.argv)[: 64 * 1024]
    except Exception:  # noqa: BLE001
        return ""


# --- the end of the program ------------------------------------------------------------------

_exit_handlers: List[Handler] = []
_exit_lock = threading.RLock()  # re-entrant: see _blocks_lock
_uncaught: Optional[str] = None
_hooked = False


def _end_at_exit(handler: Handler) -> None:
    global _hooked
    with _exit_lock:
        _exit_handlers.append(handler)
        if _hooked:
            return
        _hooked = True
        previous = sys.excepthook

        def hook(exc_type: Any, exc: Any, tb: Any) -> None:
            global _uncaught
            try:
                _uncaught = error_message_of(exc)
                for target in list(_exit_handlers):
                    target.emit(logging.LogRecord("runlog", logging.ERROR, "", 0, "Uncaught exception", None, (exc_type, exc, tb)))
            except Exception:  # noqa: BLE001
                pass
            previous(exc_type, exc, tb)

        sys.excepthook = hook
        watch_exit()  # sys.exit(3) fails the run with exit code 3 (see _exit.py)
        atexit.register(_at_exit)
    at_sigterm(_end_at_sigterm)


def error_message_of(exc: BaseException) -> str:
    """A run's cause: "ExcType: message" ("ExcType" alone when it says nothing)."""
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def _at_exit() -> None:
    with _exit_lock:
        handlers = list(_exit_handlers)
        _exit_handlers.clear()
    exited = exit_outcome() if _uncaught is None else None
    for handler in handlers:
        try:
            if _uncaught is not None:
                handler.end("failed", _uncaught)
            elif exited is not None:
                handler.end(exited[0], exited[1], exit_code=exited[2])
            else:
                handler.end("completed")
        except Exception:  # noqa: BLE001
            pass


def _end_at_sigterm() -> None:
    """SIGTERM (see _signals.py): every run still open, innermost block first, ends failed."""
    with _blocks_lock:
        blocks = list(reversed(_block_handlers))
    with _exit_lock:
        handlers = list(_exit_handlers)
        _exit_handlers.clear()
    for handler in blocks + handlers:
        try:
            handler.end("failed", "killed by SIGTERM", signal="SIGTERM")
        except Exception:  # noqa: BLE001
            pass
