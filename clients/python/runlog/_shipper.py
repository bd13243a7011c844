"""RunShipper: a run's lines, from the program's threads to the hub, on a thread of its own.

- The caller's side is one deque append: a logging call never waits on the network, a lock held
  by the network, or the disk. The deque is bounded (`max_records`, 100k): past it the oldest
  records go, counted, and a `system` line says how many.
- The shipper thread wakes every `flush_interval` (0.2 s), or sooner when `batch_size` records
  wait; it turns the records into the wire shape, numbered (seq 1, 2, 3 … in the order they were
  queued), as JSON text (`convert`), and POSTs them in batches (`/api/runs/:id/logs`, at most
  ~4 MiB each).
- The run is created by this thread (`POST /api/runs` with a new writer key, PROTOCOL.md); its
  lease is renewed every `lease_s` (10 s) from then on (a hub without the lease route answers 404,
  which is ignored). A renewal's answer may carry a cancel request: `on_cancel` is called with it
  (on this thread), and the run ends `cancelled` ("cancelled by <who>") however the program ends.
- A hub that cannot be reached, or answers 5xx, 507 or 429: the batch goes to the run's spool
  (<spool>/runs/<id>/pending.jsonl) and the spool is replayed in order, with backoff (0.5 s
  doubling to 10 s); while it holds anything, new batches queue behind it. Replaying is safe:
  the hub keeps a line once per (run, seq).
- The run's spool directory (0700) also keeps `run.json` (its writer key, 0600: a process that
  resumes the run by its id is its writer) and `seq` (the last seq given), so a resumed run
  numbers on. It is deleted once the run has ended on the hub with nothing left to send.
- A run the hub refuses to create: a field it can do without (a name too long, a bad label) is
  left out and the create tried again at once (create_run, _http.py), said once on stderr. A run
  it will not have at all (a token it refuses, the id of a run that already ended) keeps its lines
  in <spool>/refused/<id>.jsonl, one record a line, said once on stderr; nothing sends them later.
- close(): drains, sends or spools what is left, ends the run, all within `exit_timeout`; a hub
  that is away at exit gets one try, and the run's end waits in `end.json`.
- Left behind: while a shipper lives it holds an flock on its run's `lock` file. The first
  shipper of a process that reaches the hub delivers the runs other processes left in the spool
  (those whose lock it can take: their process is gone): their lines, then their end if they had
  one (a run killed before its end stays as the hub's lease leaves it): see _leftovers.py. A
  second live shipper of one run and spool (another process's, or another Handler of this one)
  cannot take the lock: it keeps its lines apart (_keep_apart).
Nothing here raises into the program.
"""
from __future__ import annotations

import collections
import json
import os
import random
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional

from ._env import new_writer_key, spool_root, warn
from ._files import can_lock, lock_dir, pid_alive, read_int, read_json, remove_tree, write_private
from ._http import Hub, RawJson, create_run, hub_last_seq, retryable, short
from ._leftovers import claim_leftovers, deliver_leftovers
from ._spool import Spool

MAX_BATCH_BYTES = 4 * 1024 * 1024  # 4 MiB a POST: far below the hub's body limit
MAX_BATCH_RECORDS = 5000
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
LOCK_WAIT_S = 5.0  # a run directory locked by a process delivering it (not a live Handler) is waited for this long

_live_shippers: "weakref.WeakSet[RunShipper]" = weakref.WeakSet()
_apart = 0  # shippers kept apart from a run another Handler writes (_keep_apart): each its own file


class RunShipper:
    def __init__(
        self,
        hub: Hub,
        run_id: str,
        convert: Callable[[Any, int], str],
        name: Optional[str] = None,
        command: Optional[str] = None,
        labels: Optional[Dict[str, str]] = None,
        lease_s: float = 10.0,
        max_records: int = 100_000,
        flush_interval: float = 0.2,
        batch_size: int = 1000,
        exit_timeout: float = 10.0,
        spool_dir: Optional[str] = None,
        on_cancel: Optional[Callable[[Dict[str, Any]], None]] = None,
        fresh: bool = False,
    ) -> None:
        """`convert(item, seq)`: a queued item → its record in the wire shape, numbered `seq`, as
        JSON text. `fresh`: the run id was just made up, so the run has no lines yet: numbering
        starts at once, hub or not. Otherwise lines wait (in memory) until the hub says the run's
        last seq."""
        self.hub = hub
        self.run_id = run_id
        self.queue: "collections.deque[Any]" = collections.deque()
        self.max_records = max_records
        self.batch_size = batch_size
        # an append to a queue this long calls crowded() first (the shipper is woken, the oldest
        # dropped); raised by a batch while the woken shipper waits for the GIL (up to 5 ms), set
        # back once it has taken the queue, so the appends meanwhile do not call crowded() each
        self.wake_at = self._wake_at = max(1, min(batch_size, max_records))
        self.dropped = 0
        self.stats = {"sent": 0, "spooled": 0, "failed_posts": 0}
        self._convert = convert
        self._name = name
        self._command = command
        self._labels = labels
        self._lease_s = lease_s
        self._flush_interval = flush_interval
        self._exit_timeout = exit_timeout
        self._on_cancel = on_cancel
        self._root = spool_dir or spool_root()
        self._dir = os.path.join(self._root, "runs", run_id)
        self._spool = Spool(os.path.join(self._dir, "pending.jsonl"))
        self._wake = threading.Event()
        self._stopping = False
        self._disabled = False  # a forked child's copy: its records are dropped
        self._refused = False  # the hub will not have the run: its records go to a file (_refuse)
        self._end: Optional[Dict[str, Any]] = None  # the body of POST /finish, once close() was called
        self._writer = ""
        self._seq = 0
        self._seq_known = fresh
        self._seq_saved = 0
        self._created = False
        self._reported_drops = 0
        self._failures = 0
        self._retry_at = 0.0
        self._next_lease = 0.0
        self._cancel: Optional[Dict[str, Any]] = None  # the hub's cancel request, once heard
        self._started_at = _now_micros()
        self._warned: set = set()
        self._lock_fd: Optional[int] = None  # held open: the flock says this run has a live shipper
        # the run's lock tried once here, on the caller's thread: of two Handlers of one run made
        # one after the other, the first keeps the run whichever thread starts first (a holder
        # that is only delivering leftovers is waited for on the shipper's thread)
        try:
            os.makedirs(self._dir, mode=0o700, exist_ok=True)
            self._lock_fd = lock_dir(self._dir)
        except OSError:
            pass
        self._thread = threading.Thread(target=self._main, name="runlog-shipper", daemon=True)
        _live_shippers.add(self)
        self._thread.start()

    # --- the caller's side -------------------------------------------------------------------

    def put(self, item: Any) -> None:
        """Queues a record (what `convert` takes); never blocks, never raises. Handler.handle does
        the same inline."""
        queue = self.queue
        if len(queue) >= self.wake_at:
            self.crowded()
        queue.append(item)

    def crowded(self) -> None:
        """Called before an append to a queue of `wake_at` records or more: makes room for it
        (the oldest goes, counted) and wakes the shipper (a batch is waiting)."""
        queue = self.queue
        if self._disabled:  # a forked child's copy: nothing will take them
            queue.clear()
            self.wake_at = self._wake_at
            return
        length = len(queue)
        if length >= self.max_records:
            self.drop_oldest()
        self.wake_at = min(length + self.batch_size, self.max_records)
        self._wake.set()

    def drop_oldest(self) -> None:
        try:
            self.queue.popleft()
            self.dropped += 1
        except IndexError:
            pass

    def wake(self) -> None:
        """Sends now rather than at the next tick (a batch is waiting)."""
        if not self._wake.is_set():
            self._wake.set()

    def close(self, status: str = "completed", error_message: Optional[str] = None, exit_code: Optional[int] = None, signal: Optional[str] = None) -> None:
        """Sends what is left and ends the run (the first close wins); waits at most `exit_timeout`."""
        if self._end is not None:
            return
        end: Dict[str, Any] = {"status": status, "completed_at": _now_micros()}
        if error_message is not None:
            end["error_message"] = error_message[:1000]
        if exit_code is not None:
            end["exit_code"] = exit_code
        if signal is not None:
            end["signal"] = signal
        self._end = end
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(self._exit_timeout + 1)

    def flush(self, timeout: float = 5.0) -> None:
        """Wakes the shipper and waits until the queue is empty (or `timeout`)."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while self.queue and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.01)

    # --- the shipper thread ------------------------------------------------------------------

    def _main(self) -> None:
        try:
            self._setup()
        except Exception as error:  # noqa: BLE001
            self._warn_once("setup", "spool directory unusable (%s); lines go to the hub only" % error)
        while True:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            stopping = self._stopping
            try:
                self._cycle()
            except Exception as error:  # noqa: BLE001 - never let the thread die
                self._warn_once("cycle", "shipper error: %s" % short(error))
            if stopping:
                break
        try:
            self._finish()
        except Exception as error:  # noqa: BLE001
            self._warn_once("finish", "could not end run %s: %s" % (self.run_id, short(error)))
        if self._lock_fd is not None:  # done with the run: what it left is for a deliverer, or a new Handler of it
            os.close(self._lock_fd)
            self._lock_fd = None

    def _setup(self) -> None:
        os.makedirs(self._dir, mode=0o700, exist_ok=True)
        if self._lock_fd is None:
            self._lock_fd = self._take_lock()
        if self._lock_fd is None and can_lock():
            self._keep_apart()
            return
        write_private(os.path.join(self._dir, "owner"), str(os.getpid()))
        meta_path = os.path.join(self._dir, "run.json")
        meta = read_json(meta_path)
        if isinstance(meta, dict) and isinstance(meta.get("writer"), str):
            self._writer = meta["writer"]  # a run resumed by its id: the same writer
        else:
            self._writer = new_writer_key()
            self._write_meta()
        saved = read_int(os.path.join(self._dir, "seq"))
        if saved is not None:
            self._seq = self._seq_saved = saved
            self._seq_known = True

    def _cycle(self) -> None:
        now = time.monotonic()
        if self._disabled:
            self.queue.clear()
            return
        if not self._created and not self._refused and now >= self._retry_at:
            self._create()
        if self._refused:
            self._keep_refused()
            return
        if self._seq_known:
            records = self._drain()
            for batch in _batches(records):
                self._send_or_spool(batch)
            self._save_seq()
        elif self._failures > 0:
            self._spool_unnumbered()
        if self._created and not self._spool.empty and time.monotonic() >= self._retry_at:
            self._replay()
        if self._created and not self._disabled and time.monotonic() >= self._next_lease:
            self._renew_lease()
        if self._created and self._spool.empty and claim_leftovers():
            # bounded: a program that is already ending gives it a moment, not its exit
            deliver_leftovers(self.hub, os.path.dirname(self._dir), self._dir, time.monotonic() + (2.0 if self._stopping else 30.0))

    def _create(self) -> None:
        body: Dict[str, Any] = {"id": self.run_id, "lease_s": self._lease_s, "started_at": self._started_at}
        if self._name is not None:
            body["name"] = self._name
        if self._command is not None:
            body["command"] = self._command
        if self._labels:
            body["labels"] = self._labels
        status, answer, changes = create_run(self.hub, body, self._writer, self._timeout())
        if changes:
            # what the hub took is what a later create (and the next program's delivery) sends
            self._name, self._command, self._labels = body.get("name"), body.get("command"), body.get("labels")
            self._write_meta()
            if status in (200, 201) or retryable(status):  # refused anyway: _refuse's warning is the one that matters
                self._warn_once("fields", "run %s goes on without what the hub refused: %s" % (self.run_id, "; ".join(changes)))
        if status in (200, 201):
            if "lease_s" not in body:  # ours was refused: renew at least as often as the hub's default lease asks
                lease = answer.get("lease_s") if isinstance(answer, dict) else None
                self._lease_s = min(self._lease_s, float(lease) if isinstance(lease, (int, float)) and lease > 0 else 10.0)
            self._created = True
            self._failures = 0
            self._next_lease = time.monotonic() + self._lease_s
            if status == 200 and not self._seq_known:
                # the run was there already (resumed by its id): number on after its last line
                last = hub_last_seq(self.hub, self.run_id, self._timeout())
                if last is None:  # not known yet: numbering from 0 would have the hub take new lines for old ones
                    self._created = False
                    self._failed()
                    return
                self._seq = max(self._seq, last)
            if not self._seq_known:
                # what waited on disk for the numbering goes first, numbered now
                self._seq = self._spool.number(self._seq)
                self._save_seq()
            self._seq_known = True
        elif retryable(status):
            self._failed()
        else:
            self._refuse(status, answer)

    def _refuse(self, status: int, answer: Any) -> None:
        """The hub will not have the run (a token it refuses, the id of a run that already ended):
        the lines cannot reach it, but they are the program's. From now on they go, one record a
        line, to <spool>/refused/<id>.jsonl, those that waited in the run's spool first. Nothing
        sends that file later (it would be refused again): it is for the user to read or send."""
        kept = Spool(os.path.join(self._root, "refused", self.run_id + ".jsonl"))
        # numbered on after what the file holds (an earlier program refused under this id), so it
        # is one run's lines; those that waited for the hub to number them too
        self._seq = max([self._seq] + [r.get("seq", 0) for r in kept._read() if isinstance(r, dict)])
        self._seq = self._spool.number(self._seq)
        self._seq_known = True

        def keep(batch: Any) -> bool:
            for record in batch if isinstance(batch, list) else []:
                kept.append(record)
            return True

        self._spool.replay(keep)
        self._spool = kept  # its drops are reported as the spool's are (_drain)
        self._refused = True
        self._warn_once("create", "run %s cannot be written (hub answered %d: %s); its lines are kept in %s" % (self.run_id, status, _why(answer), kept.path))

    def _take_lock(self) -> Optional[int]:
        """The run directory's lock. Held by a live shipper (`owner` names a live pid, this one's
        included: another Handler of this program): None at once. Held by a process delivering a
        dead one's leftovers (_leftovers.py): waited for a few seconds (it may remove the directory)."""
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                os.makedirs(self._dir, mode=0o700, exist_ok=True)
                fd = lock_dir(self._dir)
            except OSError:
                fd = None
            owner = read_int(os.path.join(self._dir, "owner"))
            if fd is not None or not can_lock() or (owner is not None and pid_alive(owner)) or time.monotonic() > deadline:
                return fd
            time.sleep(0.05)

    def _keep_apart(self) -> None:
        """Another live Handler of this spool writes this run (the ranks of a job on one machine, two
        Handlers of one program): both would be its writer and number its lines from the same seq,
        and the hub would keep one line per seq. So this one keeps its lines in a file of its own
        under refused/ (numbered from 1), said once on stderr, as a run the hub will not have is
        kept; the run and its directory stay the other's."""
        global _apart
        _apart += 1
        owner = read_int(os.path.join(self._dir, "owner"))
        kept = Spool(os.path.join(self._root, "refused", "%s.%d.%d.jsonl" % (self.run_id, os.getpid(), _apart)))
        self._dir = ""  # not ours: never written nor removed by this shipper
        self._spool = kept
        self._seq_known = True
        self._refused = True
        who = "this program" if owner == os.getpid() else "pid %s" % owner if owner else "another process"
        self._warn_once(
            "create",
            "run %s is written by another Handler on this spool (%s): two cannot number one run's lines; "
            "this one's lines are kept in %s. Give each process a run of its own (runlog.Handler() "
            "makes one; or a run_id per rank)" % (self.run_id, who, kept.path),
        )

    def _keep_refused(self) -> None:
        records = self._drain()
        for record in records:
            self._spool.append_json(record)
        self.stats["spooled"] += len(records)

    def _spool_unnumbered(self) -> None:
        """A run named by the program whose hub has not answered yet: its last seq there is not
        known, so its records cannot be numbered, but they must not wait in memory (a SIGKILL
        would lose them, and a long outage would drop them past max_records). They go to the
        spool with seq 0 and are numbered there once the hub says where the run is (_create; or
        deliver_leftovers, when this process dies first)."""
        for batch in _batches(self._drain(numbered=False)):
            self._spool.append_json("[" + ",".join(batch) + "]", weight=len(batch))
            self.stats["spooled"] += len(batch)

    def _drain(self, numbered: bool = True) -> List[str]:
        """Takes every queued record: their JSON texts, numbered on (seq 0 each when not `numbered`)."""
        records: List[str] = []
        append = records.append
        queue = self.queue
        popleft = queue.popleft
        convert = self._convert
        drops = self.dropped + self._spool.dropped
        if drops > self._reported_drops:
            append(self._notice("%d lines dropped by runlog (more than %d waiting, or the spool full)" % (drops - self._reported_drops, self.max_records), numbered))
            self._reported_drops = drops
        self.wake_at = self._wake_at  # the queue is being taken: the next batch wakes the shipper again
        seq = self._seq
        step = 1 if numbered else 0
        try:
            while True:
                try:
                    item = popleft()
                except IndexError:
                    break
                seq += step
                try:
                    append(convert(item, seq))
                except Exception as error:  # noqa: BLE001
                    append(_to_json({"seq": seq, "level": "ERROR", "message": "runlog could not convert a record: %s" % short(error), "timestamp": _now_micros(), "source": "system"}))
        finally:
            self._seq = seq
        return records

    def _notice(self, message: str, numbered: bool = True) -> str:
        if numbered:
            self._seq += 1
        return _to_json({"seq": self._seq if numbered else 0, "timestamp": _now_micros(), "level": "WARNING", "message": message, "source": "system", "logger": "runlog"})

    def _send_or_spool(self, batch: List[str]) -> None:
        if self._created and self._spool.empty and time.monotonic() >= self._retry_at and self._post(batch):
            return
        self._spool.append_json("[" + ",".join(batch) + "]", weight=len(batch))
        self.stats["spooled"] += len(batch)

    def _post(self, batch: List[Any]) -> bool:
        """True when the batch is done with (taken, or refused for good); False to retry it later.
        The batch: records as JSON texts (from _drain), or as dicts (read back from the spool)."""
        if batch and type(batch[0]) is str:
            body: Any = RawJson('{"records":[' + ",".join(batch) + "]}")
        else:
            body = {"records": batch}
        status, answer = self.hub.request("POST", "/api/runs/%s/logs" % self.run_id, body, writer=self._writer, timeout=self._timeout())
        if 200 <= status < 300:
            self._failures = 0
            self.stats["sent"] += len(batch)
            return True
        if retryable(status):
            self._failed()
            return False
        if status == 404:  # the hub does not know the run (a new data directory): create it again
            self._created = False
            return False
        self._warn_once("post%d" % status, "hub refused lines of run %s (%d: %s); they are dropped" % (self.run_id, status, _why(answer)))
        return True

    def _replay(self) -> None:
        self._spool.replay(lambda batch: self._created and self._post(batch))

    def _renew_lease(self) -> None:
        self._next_lease = time.monotonic() + self._lease_s
        status, answer = self.hub.request("POST", "/api/runs/%s/lease" % self.run_id, {}, writer=self._writer, timeout=self._timeout())
        cancel = answer.get("cancel") if status == 200 and isinstance(answer, dict) else None
        if isinstance(cancel, dict) and self._cancel is None:
            self._cancel = cancel  # the run ends `cancelled`, however the program ends
            if self._on_cancel is not None:
                try:
                    self._on_cancel(cancel)
                except Exception:  # noqa: BLE001
                    pass

    def _finish(self) -> None:
        deadline = time.monotonic() + self._exit_timeout
        if self._disabled:
            return
        if not self._created and not self._refused:
            self._retry_at = 0.0
            self._create()
        if self._refused:
            self._keep_refused()
            if self._dir:  # nothing in it for the next program to deliver (none of ours: _keep_apart)
                remove_tree(self._dir)
            return
        if self._seq_known:
            for batch in _batches(self._drain()):
                self._send_or_spool(batch)
        else:
            self._spool_unnumbered()  # never heard from the hub: the next program numbers them (_leftovers.py)
        self._save_seq()
        # the hub away at exit: one more try, not a wait
        if self._created and not self._spool.empty:
            self._retry_at = 0.0
            while not self._spool.empty and time.monotonic() < deadline:
                failures = self._failures
                self._replay()
                if self._failures > failures or not self._created:
                    break
        body = dict(self._end or {"status": "completed", "completed_at": _now_micros()})
        if self._cancel is not None:
            body.update(status="cancelled", error_message="cancelled by %s" % self._cancel.get("by", "?"))
            body.pop("exit_code", None)
        if self._created and self._spool.empty:
            status, answer = self.hub.request("POST", "/api/runs/%s/finish" % self.run_id, body, writer=self._writer, timeout=self._timeout(deadline))
            if 200 <= status < 300 or (400 <= status < 500 and not retryable(status)):
                remove_tree(self._dir)
                return
        write_private(os.path.join(self._dir, "end.json"), json.dumps(body))
        self._warn_once("exit", "hub %s away at exit: run %s's last lines and its end wait in %s" % (self.hub.url, self.run_id, self._dir))

    # --- small things ------------------------------------------------------------------------

    def _failed(self) -> None:
        self._failures += 1
        self.stats["failed_posts"] += 1
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * (2 ** min(self._failures - 1, 10)))
        self._retry_at = time.monotonic() + delay * (0.75 + random.random() / 2)

    def _timeout(self, deadline: Optional[float] = None) -> float:
        if deadline is not None:
            return max(0.5, min(5.0, deadline - time.monotonic()))
        return 2.0 if self._stopping else 10.0

    def _write_meta(self) -> None:
        write_private(os.path.join(self._dir, "run.json"), json.dumps({"id": self.run_id, "name": self._name, "writer": self._writer}))

    def _save_seq(self) -> None:
        if self._seq != self._seq_saved:
            self._seq_saved = self._seq
            write_private(os.path.join(self._dir, "seq"), str(self._seq))

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warn(message)

    def _disable_after_fork(self) -> None:
        # the child has the parent's queue but not its thread: its lines would take the parent's seqs
        self._disabled = True
        self._end = {"status": "completed"}
        self.queue.clear()  # and crowded() empties it again every `batch_size` records (Handler keeps this deque)
        self.wake_at = self._wake_at


def _after_fork_in_child() -> None:
    for shipper in list(_live_shippers):
        shipper._disable_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)








def _batches(records: List[str]):
    batch: List[str] = []
    size = 0
    for record in records:
        weight = len(record) * 2  # bytes, roughly (most characters take 1 in UTF-8, a few up to 4)
        if batch and (size + weight > MAX_BATCH_BYTES or len(batch) >= MAX_BATCH_RECORDS):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += weight
    if batch:
        yield batch


def _to_json(record: Dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str)


def _now_micros() -> int:
    return time.time_ns() // 1000


def _why(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("error") or "")[:200]
    return ""








