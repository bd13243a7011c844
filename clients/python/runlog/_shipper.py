"""RunShipper: a run's lines, from the program's threads to the hub, on a thread of its own.

- The caller's side is one deque append: a logging call never waits on the network, a lock held
  by the network, or the disk. The deque is bounded (`max_records`, 100k): past it the oldest
  records go, counted, and a `system` line says how many.
- The shipper thread wakes every `flush_interval` (0.2 s), or sooner when `batch_size` records
  wait; it turns the records into the wire shape, numbered (seq 1, 2, 3 … in the order they were
  queued), as JSON text (`convert`), and hands them to the hub side (_runhub.py: the run's create
  with a new writer key, its lines in batches, its lease every `lease_s`, a cancel heard with
  it, its end).
- A hub that cannot be reached, or answers 5xx, 507 or 429: the batch goes to the run's spool
  (<spool>/runs/<id>/pending.jsonl) and the spool is replayed in order, with backoff; while it
  holds anything, new batches queue behind it. A run named by the program whose hub has not
  answered yet spools its lines unnumbered (seq 0) until the hub says where the run is.
- On disk (_rundir.py): the run's spool directory (0700) keeps `run.json` (its writer key, 0600: a
  process that resumes the run by its id is its writer), `seq` (the last seq given, so a resumed
  run numbers on), `owner` and `lock`. It is deleted once the run has ended on the hub with
  nothing left to send.
- A create answered 404 (a proxy before a hub that is restarting) is tried again, as a hub away.
- A run the hub refuses to create: a field it can do without (a name too long, a bad label) is
  left out and the create tried again at once (create_run, _http.py), said once on stderr. A run
  it will not have at all (a token it refuses, the id of a run that already ended) keeps its lines
  in <spool>/refused/<id>.jsonl, one record a line, said once on stderr; nothing sends them later.
- close(): drains, sends or spools what is left, ends the run, all within `exit_timeout`; a hub
  that is away at exit gets one try, and the run's end waits in `end.json`.
- Left behind: while a shipper lives it holds an flock on its run's `lock` file. The first
  shipper of a process that reaches the hub delivers the runs other processes left in the spool
  (those whose lock it can take: their process is gone), and again after a run of this process
  ended with something left in the spool (the hub away at a block's end): their lines, then their end if they had
  one (a run killed before its end stays as the hub's lease leaves it): see _leftovers.py. A
  second live shipper of one run and spool (another process's, or another Handler of this one)
  cannot take the lock: it keeps its lines apart (_keep_apart).
- A crash (SIGKILL) loses the lines still in memory (queued, or in a POST the hub had not
  taken); what was spooled is delivered by the next process of this spool that reaches the hub.
Nothing here raises into the program.
"""
from __future__ import annotations

import collections
import json
import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Optional

from ._env import spool_root, warn
from ._http import Hub, short
from ._leftovers import claim_leftovers, deliver_leftovers, left_in_spool
from ._rundir import RunDir, move_to_refused
from ._runhub import RunHub, batches, now_micros, why

_live_shippers: "weakref.WeakSet[RunShipper]" = weakref.WeakSet()


class RunShipper(RunHub):
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
        self._rundir = RunDir(spool_dir or spool_root(), run_id)
        self._spool = self._rundir.pending()
        self._wake = threading.Event()
        self._stopping = False
        self._close_deadline: Optional[float] = None
        self._disabled = False  # a forked child's copy: its records are dropped
        self._refused = False  # the hub will not have the run: its records go to a file (_refuse)
        self._end: Optional[Dict[str, Any]] = None  # the body of POST /finish, once close() was called
        self._writer = ""
        self._seq = 0
        self._seq_known = fresh
        self._created = False
        self._create_404 = False  # the last create was answered 404 (_create): said so at exit
        self._reported_drops = 0
        # the last drop notice made (_drain) and the drops it says: should the spool drop it too
        # (a full disk), they are unsaid again (_spool_batch), and the next notice says them
        self._notice: Optional[str] = None
        self._notice_drops = 0
        self._failures = 0
        self._retry_at = 0.0
        self._next_lease = 0.0
        self._cancel: Optional[Dict[str, Any]] = None  # the hub's cancel request, once heard
        # flush() callers: each is set once a cycle that began after it has sent (or spooled) what
        # was queued; the lock keeps an append from landing in a list the shipper already took
        self._flush_waiters: List[threading.Event] = []
        self._flush_lock = threading.Lock()
        self._started_at = now_micros()
        self._warned: set = set()
        # the run's lock tried once here, on the caller's thread: of two Handlers of one run made
        # one after the other, the first keeps the run whichever thread starts first (a holder
        # that is only delivering leftovers is waited for on the shipper's thread)
        self._rundir.try_lock()
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
        end: Dict[str, Any] = {"status": status, "completed_at": now_micros()}
        if error_message is not None:
            end["error_message"] = error_message[:1000]
        if exit_code is not None:
            end["exit_code"] = exit_code
        if signal is not None:
            end["signal"] = signal
        self._end = end
        # the deadline runs from here, not from when the shipper thread gets to it: a request in
        # flight (10 s for a hub that answers nothing) would otherwise push the end past the join
        self._close_deadline = time.monotonic() + self._exit_timeout
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._end_on_disk(end)
            self._thread.join(self._exit_timeout + 1)

    def _end_on_disk(self, end: Dict[str, Any]) -> None:
        """The run's end in its spool directory at once, on the caller's thread: a shipper still in a
        request when the join gives up (and the process then exits) leaves it for the next program
        to deliver, not a run the hub fails as "runner lost". The shipper removes or rewrites it."""
        try:
            if self._rundir.path and os.path.isdir(self._rundir.path) and not (self._refused or self._disabled):
                self._rundir.write_end(end)
        except Exception:  # noqa: BLE001 - never into the program
            pass

    def flush(self, timeout: float = 5.0) -> None:
        """Waits (`timeout` s at most) until every record queued before the call is at the hub, or
        in the spool (the hub away, or its lines waiting to be numbered). Not only taken from the
        queue: a program that flushes and then reads the run must find its lines there."""
        if threading.current_thread() is self._thread or not self._thread.is_alive():
            return  # on_cancel (the shipper's own thread) would wait for itself
        done = threading.Event()
        with self._flush_lock:
            self._flush_waiters.append(done)
        self._wake.set()
        done.wait(timeout)

    def _take_flush_waiters(self) -> List[threading.Event]:
        with self._flush_lock:
            waiters, self._flush_waiters = self._flush_waiters, []
        return waiters

    def _release(self, waiters: List[threading.Event]) -> None:
        for done in waiters:
            done.set()

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
            waiters = self._take_flush_waiters()  # before the drain: what they wait for is queued by now
            try:
                self._cycle()
            except Exception as error:  # noqa: BLE001 - never let the thread die
                self._warn_once("cycle", "shipper error: %s" % short(error))
            if waiters and not (self._seq_known or self._refused or self._disabled or self._failures > 0):
                with self._flush_lock:  # nothing could be taken yet (no answer from the hub): next cycle
                    self._flush_waiters[:0] = waiters
            else:
                self._release(waiters)
            if stopping:
                break
        try:
            self._finish()
        except Exception as error:  # noqa: BLE001
            self._warn_once("finish", "could not end run %s: %s" % (self.run_id, short(error)))
        self._release(self._take_flush_waiters())  # the run has ended: nothing more will be sent
        self._rundir.release()  # done with the run: what it left is for a deliverer, or a new Handler of it
        if self._rundir.path and os.path.isdir(self._rundir.path):
            left_in_spool()  # the hub away at its end: this process's other shippers deliver it once it is back

    def _setup(self) -> None:
        if not self._rundir.take_lock():
            self._keep_apart()
            return
        self._writer, saved = self._rundir.open(self._name)
        if saved is not None:
            self._seq = saved
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
            for batch in batches(records):
                self._send_or_spool(batch)
            self._rundir.save_seq(self._seq)
        elif self._failures > 0:
            self._spool_unnumbered()
        if self._created and not self._spool.empty and time.monotonic() >= self._retry_at:
            self._replay()
        if self._created and not self._disabled and time.monotonic() >= self._next_lease:
            self._renew_lease()
        if self._created and self._spool.empty and claim_leftovers():
            # bounded: a program that is already ending gives it a moment, not its exit
            deliver_leftovers(self.hub, os.path.dirname(self._rundir.path), self._rundir.path, time.monotonic() + (2.0 if self._stopping else 30.0))

    def _refuse(self, status: int, answer: Any) -> None:
        """The hub will not have the run (a token it refuses, the id of a run that already ended):
        the lines cannot reach it, but they are the program's. From now on they go, one record a
        line, to <spool>/refused/<id>.jsonl, those that waited in the run's spool first. Nothing
        sends that file later (it would be refused again): it is for the user to read or send."""
        kept = self._rundir.refused()
        self._seq = move_to_refused(self._spool, kept, self._seq)
        self._seq_known = True
        self._spool = kept  # its drops are reported as the spool's are (_drain)
        self._refused = True
        self._warn_once("create", "run %s cannot be written (hub answered %d: %s); its lines are kept in %s" % (self.run_id, status, why(answer), kept.path))

    def _keep_apart(self) -> None:
        """Another live Handler of this spool writes this run (the ranks of a job on one machine, two
        Handlers of one program): both would be its writer and number its lines from the same seq,
        and the hub would keep one line per seq. So this one keeps its lines in a file of its own
        under refused/ (numbered from 1), said once on stderr, as a run the hub will not have is
        kept; the run and its directory stay the other's."""
        owner = self._rundir.holder or self._rundir.owner()
        kept = self._rundir.apart()
        self._rundir.disown()  # not ours: never written nor removed by this shipper
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
            self._spool_batch([record], record)

    def _spool_unnumbered(self) -> None:
        """A run named by the program whose hub has not answered yet: its last seq there is not
        known, so its records cannot be numbered, but they must not wait in memory (a SIGKILL
        would lose them, and a long outage would drop them past max_records). They go to the
        spool with seq 0 and are numbered there once the hub says where the run is (_create; or
        deliver_leftovers, when this process dies first)."""
        for batch in batches(self._drain(numbered=False)):
            self._spool_batch(batch)

    def _drain(self, numbered: bool = True) -> List[str]:
        """Takes every queued record: their JSON texts, numbered on (seq 0 each when not `numbered`)."""
        records: List[str] = []
        append = records.append
        queue = self.queue
        popleft = queue.popleft
        convert = self._convert
        drops = self.dropped + self._spool.dropped
        if drops > self._reported_drops:
            self._notice = self._make_notice("%d lines dropped by runlog (more than %d waiting, or the spool full)" % (drops - self._reported_drops, self.max_records), numbered)
            self._notice_drops = drops - self._reported_drops
            append(self._notice)
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
                    append(_to_json({"seq": seq, "level": "ERROR", "message": "runlog could not convert a record: %s" % short(error), "timestamp": now_micros(), "source": "system"}))
        finally:
            self._seq = seq
        return records

    def _spool_batch(self, batch: List[str], item: Optional[str] = None) -> None:
        """Appends records (JSON texts, from _drain) to the spool as one item. A disk that refuses
        them drops them, counted; a drop notice among them is no line of the program's, and the drops
        it said are said by the next notice instead (the hub heard only the last count before).
        `item`: the text to append, when not the batch as a list (refused/ holds a record a line)."""
        dropped = self._spool.dropped
        self._spool.append_json("[" + ",".join(batch) + "]" if item is None else item, weight=len(batch))
        if self._spool.dropped != dropped and self._notice is not None and self._notice in batch:
            self._spool.dropped -= 1
            self._reported_drops -= self._notice_drops
            self._notice = None
        self.stats["spooled"] += len(batch)

    def _make_notice(self, message: str, numbered: bool = True) -> str:
        if numbered:
            self._seq += 1
        return _to_json({"seq": self._seq if numbered else 0, "timestamp": now_micros(), "level": "WARNING", "message": message, "source": "system", "logger": "runlog"})

    # --- small things ------------------------------------------------------------------------

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


def _to_json(record: Dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=str)
