"""runlog.Worker: the seed's worker logging (seeds/worker-heartbeat-logging.md) against a runlog hub.

    worker = runlog.Worker("gpu-7")            # hub and token: RUNLOG_HUB, RUNLOG_TOKEN
    worker.start()
    worker.logger.info("model loaded")         # → worker.buffer → the next heartbeat
    with worker.task_context("task-42"):       # lines inside carry task_id; heartbeats say the task
        worker.logger.info("step 1")
    worker.stop()                              # the last lines, and status offline (also at exit)

Every HEARTBEAT_INTERVAL seconds (20) a heartbeat carries the worker's state, its VRAM (see
_gpu.py), the current task and the lines buffered since the last one; a buffer that reaches its
max_size (LOG_BUFFER_SIZE, 100) is sent at once. Lines go in the seed's shape ({timestamp, level,
message, task_id, metadata}) plus `seq`, numbered by the buffer from 1 in each life of the
process: the hub uses it only to keep a resent heartbeat once (it numbers worker lines itself, so
a restarted worker counting from 1 again loses nothing). While the hub is away, heartbeats wait in
a bounded spool on disk (<spool>/workers/<id>/heartbeats.jsonl) and are replayed in order.
"""
from __future__ import annotations

import atexit
import contextlib
import contextvars
import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ._env import env_number, level_name, resolve_hub, resolve_token, spool_root, valid_id, warn
from ._gpu import GpuProbe
from ._http import Hub, retryable, short
from ._leftovers import claim_leftovers, deliver_leftovers
from ._signals import at_sigterm
from ._spool import Spool

DEFAULT_BUFFER_SIZE = 100  # the seed's
DEFAULT_HEARTBEAT_S = 20.0  # the seed's
SPOOL_MAX_BYTES = 64 * 1024 * 1024

# Each Worker's task inside its task_context, for this thread or asyncio task (a ContextVar: two
# threads, or two coroutines, each in a task of their own, each see theirs). One mapping Worker →
# task id, replaced (never changed) on entering a context: a line logged through worker A's logger
# in A.task_context("t1") carries t1, worker B's lines do not. One variable for every Worker, not
# one each: a context holds its variables for good, so a ContextVar made per Worker is never freed.
_current_tasks: "contextvars.ContextVar[Dict[Worker, str]]" = contextvars.ContextVar("runlog_worker_tasks", default={})
_FORMATTER = logging.Formatter()


class LogBuffer:
    """The seed's LogBuffer: thread-safe, `max_size` entries (default LOG_BUFFER_SIZE, else 100),
    flushed automatically when full: the whole content goes to `on_full` (the worker sends it at
    once), or, with no `on_full`, the oldest entry makes room (counted in `dropped`).
    Each entry added gets `seq` 1, 2, 3 … in the order added, unless it has one."""

    def __init__(self, max_size: Optional[int] = None, on_full: Optional[Callable[[List[Dict[str, Any]]], None]] = None) -> None:
        size = max_size if max_size is not None else int(env_number("LOG_BUFFER_SIZE", DEFAULT_BUFFER_SIZE, integer=True))
        if size < 1:
            raise ValueError("max_size: expected a positive integer, got %r" % (size,))
        self.max_size = size
        self.on_full = on_full
        self.dropped = 0
        self._lock = threading.Lock()
        self._logs: List[Dict[str, Any]] = []
        self._seq = 0
        self._total_buffered = 0
        self._total_flushes = 0

    def add(self, log_entry: Dict[str, Any]) -> None:
        """Adds an entry; never raises. A full buffer is handed to `on_full` inside the lock, so
        batches leave in the order their lines were added."""
        with self._lock:
            self._seq += 1
            if "seq" not in log_entry:
                log_entry["seq"] = self._seq
            self._logs.append(log_entry)
            self._total_buffered += 1
            if len(self._logs) < self.max_size:
                return
            if self.on_full is None:
                if len(self._logs) > self.max_size:  # bounded: the oldest makes room
                    del self._logs[0]
                    self.dropped += 1
                return
            batch = self._flush_locked()
            try:
                self.on_full(batch)
            except Exception:  # noqa: BLE001
                self.dropped += len(batch)

    def flush(self) -> List[Dict[str, Any]]:
        """Takes every entry (oldest first) and leaves the buffer empty."""
        with self._lock:
            return self._flush_locked()

    def _flush_locked(self) -> List[Dict[str, Any]]:
        logs = self._logs
        if not logs:
            return []
        self._logs = []
        self._total_flushes += 1  # a flush that hands over nothing is not counted
        return logs

    def get_stats(self) -> Dict[str, int]:
        with self._lock:
            return {
                "current_buffer_size": len(self._logs),
                "total_logs_buffered": self._total_buffered,
                "total_flushes": self._total_flushes,
            }


class WorkerLogHandler(logging.Handler):
    """Puts logging records in a worker's buffer, in the seed's shape, with the current task id."""

    def __init__(self, worker: "Worker", level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._worker = worker

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # a record reaching this handler twice (the worker's logger, then the root's) counts once
            if getattr(record, "_runlog_buffered", None) is self:
                return
            record._runlog_buffered = self  # type: ignore[attr-defined]
            text = record.getMessage()
            if record.exc_info and not record.exc_text:
                record.exc_text = _FORMATTER.formatException(record.exc_info)
            if record.exc_text and record.exc_text.strip():
                text = text + "\n" + record.exc_text.rstrip("\n")
            if record.stack_info:
                text = text + "\n" + record.stack_info.rstrip("\n")
            entry: Dict[str, Any] = {
                "timestamp": int(record.created * 1_000_000),
                "level": level_name(record.levelno),
                "message": text,
                "logger": record.name[:256],
                "metadata": {"module": record.module, "funcName": record.funcName, "lineno": record.lineno},
            }
            worker = self._worker
            task_id = getattr(record, "task_id", None) or _current_tasks.get().get(worker) or worker.current_task_id
            if task_id:
                entry["task_id"] = str(task_id)
            if record.exc_info and record.exc_info[0] is not None:
                entry["metadata"]["exc_type"] = record.exc_info[0].__name__
            self._worker.buffer.add(entry)
        except Exception:  # noqa: BLE001 - never into the program
            pass


class Worker:
    def __init__(
        self,
        worker_id: str,
        hub: Optional[str] = None,
        token: Optional[str] = None,
        *,
        heartbeat_interval: Optional[float] = None,
        buffer_size: Optional[int] = None,
        level: int = logging.INFO,
        spool_dir: Optional[str] = None,
        stop_timeout: float = 5.0,
        gpu: Optional[GpuProbe] = None,
    ) -> None:
        if not valid_id(worker_id):
            raise ValueError("worker_id: expected [A-Za-z0-9][A-Za-z0-9._:-]{0,127}, got %r" % (worker_id,))
        # as LogBuffer's max_size: an argument that is not usable is the program's error, a variable
        # that is not is said (env_number) and the default used
        if heartbeat_interval is not None and not (isinstance(heartbeat_interval, (int, float)) and 0 < heartbeat_interval < float("inf")):
            raise ValueError("heartbeat_interval: expected a positive number of seconds, got %r" % (heartbeat_interval,))
        hub_url = resolve_hub(hub)  # not an http(s) URL: a ValueError, before anything is set up
        self.worker_id = worker_id
        self.heartbeat_interval = heartbeat_interval or env_number("HEARTBEAT_INTERVAL", DEFAULT_HEARTBEAT_S)
        self.current_task_id: Optional[str] = None
        self.stats = {"sent": 0, "failed": 0, "replayed": 0}
        self._session = os.urandom(12).hex()
        self.buffer = LogBuffer(buffer_size, on_full=self._on_full)
        self.handler = WorkerLogHandler(self)
        self.logger = logging.getLogger("runlog.worker." + worker_id)
        self.logger.setLevel(level)
        self.logger.addHandler(self.handler)
        self._hub = Hub(hub_url, resolve_token(token))
        self._spool_root = spool_dir or spool_root()
        self._spool = Spool(os.path.join(self._spool_root, "workers", worker_id, "heartbeats.jsonl"), SPOOL_MAX_BYTES)
        self._gpu = gpu or GpuProbe()
        self._stop_timeout = stop_timeout
        self._full: List[List[Dict[str, Any]]] = []
        self._wake = threading.Event()
        self._stopping = False
        self._reported_drops = 0
        # lines of heartbeats the hub refused (not to be retried), and the drops they carried
        self._refused_lines = 0
        self._refusals: set = set()
        self._thread: Optional[threading.Thread] = None
        # the task_contexts entered and not left yet, on any thread, in the order entered: the
        # worker's current task is the last one's, or what it was before the first (a context left
        # out of order, by threads, must not bring back a task that has ended)
        self._task_lock = threading.Lock()
        self._active_tasks: List[Tuple[object, str]] = []
        self._task_before: Optional[str] = None

    def __repr__(self) -> str:
        return "<runlog.Worker %s hub=%s>" % (self.worker_id, self._hub.url)

    def start(self) -> "Worker":
        """Starts the heartbeats (the first one at once); they stop with stop() or at exit."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="runlog-heartbeat", daemon=True)
            self._thread.start()
            atexit.register(self.stop)
            at_sigterm(self.stop)  # SIGTERM skips atexit (see _signals.py)
        return self

    def stop(self) -> None:
        """The last heartbeat: what is still buffered, and status offline. Waits `stop_timeout` at most."""
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(self._stop_timeout + 1)

    @contextlib.contextmanager
    def task_context(self, task_id: str) -> Iterator[None]:
        """Lines logged inside carry `task_id`, and heartbeats say the worker is busy with it."""
        token = _current_tasks.set({**_current_tasks.get(), self: task_id})
        entry = (object(), task_id)
        with self._task_lock:
            if not self._active_tasks:
                self._task_before = self.current_task_id
            self._active_tasks.append(entry)
            self.set_task(task_id)
        try:
            yield
        finally:
            _current_tasks.reset(token)
            with self._task_lock:
                self._active_tasks.remove(entry)
                self.set_task(self._active_tasks[-1][1] if self._active_tasks else self._task_before)

    def set_task(self, task_id: Optional[str]) -> None:
        self.current_task_id = task_id

    @property
    def status(self) -> str:
        """`busy` while a task is current, else `idle`: derived, so a heartbeat never says one
        without the other (it reads the task once)."""
        return _status_of(self.current_task_id)

    def beat(self) -> None:
        """A heartbeat now (on the heartbeat thread)."""
        self._wake.set()

    # --- the heartbeat thread ----------------------------------------------------------------

    def _on_full(self, batch: List[Dict[str, Any]]) -> None:
        self._full.append(batch)  # under the buffer's lock: batches keep their order
        self._wake.set()

    def _take_logs(self) -> List[Dict[str, Any]]:
        with self.buffer._lock:
            batches, self._full = self._full, []
            rest = self.buffer._flush_locked()
        logs = [entry for batch in batches for entry in batch]
        logs.extend(rest)
        return logs

    def _main(self) -> None:
        while True:
            stopping = self._stopping
            try:
                self._beat(stopping)
                if self.stats["sent"] > 0 and not stopping and claim_leftovers():
                    # runs that dead processes using this spool left behind (the Handler's); bounded,
                    # and on this thread, so the next heartbeat waits for them at most this long
                    deliver_leftovers(self._hub, os.path.join(self._spool_root, "runs"), None, time.monotonic() + 10.0)
            except Exception as error:  # noqa: BLE001 - never let the thread die
                warn("heartbeat error: %s" % short(error))
            if stopping:
                return
            self._wake.wait(self.heartbeat_interval)
            self._wake.clear()

    def _beat(self, stopping: bool, again: bool = False) -> None:
        task_id = self.current_task_id  # once: the program's thread may change it meanwhile
        gpu = self._gpu.snapshot()
        drops = self.buffer.dropped + self._spool.dropped
        body = {
            "status": "offline" if stopping else _status_of(task_id),
            "current_task_id": task_id,
            "vram_total_mb": gpu["vram_total_mb"],
            "vram_used_mb": gpu["vram_used_mb"],
            "gpus": gpu["gpus"],
            # the hub takes 1 to 3600 s: one beating faster says 1 s (the hub then waits longer, never less)
            "heartbeat_interval_s": min(3600.0, max(1.0, float(self.heartbeat_interval))),
            "logs": self._take_logs(),
            "dropped_logs": drops - self._reported_drops + self._refused_lines,
            "stats": {**self.buffer.get_stats(), "heartbeats": dict(self.stats)},
            # this life of the worker (a spooled beat keeps its own): the hub tells a new life's
            # lines from resends by it, whatever the clocks say
            "session": self._session,
        }
        self._reported_drops = drops
        self._refused_lines = 0
        if not self._spool.empty:
            # older heartbeats first: the hub sees the lines in the order they were written
            self._spool.append(body, weight=len(body["logs"]))
            self._spool.replay(self._replayed)
            return
        if not self._post(body):
            self._spool.append(body, weight=len(body["logs"]))
        elif self._refused_lines and not again:
            # the lines of a refused beat are counted in a beat of their own now: the refused one may
            # be the last (a stop)
            self._beat(stopping, again=True)

    def _replayed(self, body: Dict[str, Any]) -> bool:
        if self._post(body):
            self.stats["replayed"] += 1
            return True
        return False

    def _post(self, body: Dict[str, Any]) -> bool:
        timeout = 2.0 if self._stopping else 10.0
        status, answer = self._hub.request("POST", "/api/workers/%s/heartbeat" % self.worker_id, body, timeout=timeout)
        if retryable(status):
            self.stats["failed"] += 1
            return False
        self.stats["sent"] += 1
        if 200 <= status < 300:
            return True
        logs = body["logs"]
        # too large for the hub or a proxy before it (nginx takes 1 MiB by default): sent again in
        # halves, until one line a beat; the lines of a beat refused otherwise are counted in the next
        # beat's dropped_logs, with the drops this one carried
        split = status == 413 and len(logs) > 1
        if status not in self._refusals:
            self._refusals.add(status)  # said once per status: a heartbeat comes every 20 s
            message = answer.get("message") if isinstance(answer, dict) else ""
            what = "sending it again in halves" if split else "its lines are dropped (counted in dropped_logs)"
            warn("hub refused a heartbeat of worker %s (%d: %s); %s" % (self.worker_id, status, message, what))
        if split:
            half = (len(logs) + 1) // 2
            return self._post(dict(body, logs=logs[:half])) and self._post(dict(body, logs=logs[half:], dropped_logs=0))
        self._refused_lines += len(logs) + body["dropped_logs"]
        return True


def _status_of(task_id: Optional[str]) -> str:
    return "idle" if task_id is None else "busy"
