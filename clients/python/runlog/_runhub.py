"""RunHub: RunShipper's side of the hub: the run's create, its lines, its lease, its end.

A base class of RunShipper (_shipper.py), not an object of its own: its methods run on the
shipper's thread and share the shipper's state (the queue's numbering, the spool, whether the run
is created or refused). Each request carries the run's writer key (PROTOCOL.md).
- create: `POST /api/runs` (create_run, _http.py, leaves out a field the hub can do without).
  A run that was there already (resumed by its id) is numbered on after its last line there;
  lines that waited on disk for that numbering (seq 0) are numbered first.
- lines: `POST /api/runs/:id/logs`, batches of at most ~4 MiB or 5000 records. A hub that cannot
  be reached, or answers 5xx, 507 or 429: the batch goes to the spool, and the spool is replayed
  in order with backoff (0.5 s doubling to 10 s). A 404 (a new data directory) creates the run
  again; another refusal drops the batch, said once on stderr. A create answered 404 (a proxy
  before a hub that is restarting) is tried again with backoff, as the Node shipper does.
- lease: `POST /api/runs/:id/lease` every `lease_s`; a 404 (a hub without the route) is ignored.
  An answer may carry a cancel request: `on_cancel` is called with it (on the shipper's
  thread), and the run ends `cancelled` ("cancelled by <who>") however the program ends.
- end (_finish): what is left is sent or spooled, the spool gets one more try (not a wait), then
  `POST /api/runs/:id/finish`; the run's directory goes once the hub has the end. A hub away at
  exit: the end waits in end.json for the next process (_leftovers.py).
Nothing is written to disk here but through the spool and RunDir (_rundir.py); a crash in the
middle of a request leaves the batch in the spool (replaying it is safe: the hub keeps a line
once per (run, seq)) or in memory (gone with the process).
"""
from __future__ import annotations

import random
import time
from typing import Any, Dict, List, Optional

from ._http import RawJson, create_run, hub_last_seq, retryable

MAX_BATCH_BYTES = 4 * 1024 * 1024  # 4 MiB a POST: far below the hub's body limit
MAX_BATCH_RECORDS = 5000
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0


class RunHub:
    # the shipper's state these methods use is set in RunShipper.__init__ (_shipper.py)

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
            self._rundir.write_meta(self._name, self._writer)
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
                self._rundir.save_seq(self._seq)
            self._seq_known = True
        elif retryable(status) or status == 404:
            # 404: no hub behind that URL now (a proxy answers for a hub that is restarting), as
            # the Node shipper takes it (src/sinks/hub.ts, RETRYABLE): tried again with backoff,
            # the lines waiting in the spool. A 404 that lasts leaves them there at exit, said on
            # stderr (_finish); the next program that reaches the hub delivers them, or leaves
            # them there on a 404 again (_leftovers.py), as `runlog sync` leaves a WAL
            self._create_404 = status == 404
            self._failed()
        else:
            self._refuse(status, answer)

    def _send_or_spool(self, batch: List[str]) -> None:
        if self._created and self._spool.empty and time.monotonic() >= self._retry_at and self._post(batch):
            return
        self._spool_batch(batch)

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
        self._warn_once("post%d" % status, "hub refused lines of run %s (%d: %s); they are dropped" % (self.run_id, status, why(answer)))
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
        deadline = self._close_deadline if self._close_deadline is not None else time.monotonic() + self._exit_timeout
        if self._disabled:
            return
        if not self._created and not self._refused and time.monotonic() < deadline - 0.5:
            self._retry_at = 0.0
            self._create()
        if self._refused:
            self._keep_refused()
            self._rundir.remove()  # nothing in it for the next program to deliver (none of ours: _keep_apart)
            return
        if self._seq_known:
            for batch in batches(self._drain()):
                self._send_or_spool(batch)
        else:
            self._spool_unnumbered()  # never heard from the hub: the next program numbers them (_leftovers.py)
        self._rundir.save_seq(self._seq)
        # the hub away at exit: one more try, not a wait
        if self._created and not self._spool.empty:
            self._retry_at = 0.0
            while not self._spool.empty and time.monotonic() < deadline:
                failures = self._failures
                self._replay()
                if self._failures > failures or not self._created:
                    break
        body = dict(self._end or {"status": "completed", "completed_at": now_micros()})
        if self._cancel is not None:
            body.update(status="cancelled", error_message="cancelled by %s" % self._cancel.get("by", "?"))
            body.pop("exit_code", None)
        if self._created and self._spool.empty:
            status, answer = self.hub.request("POST", "/api/runs/%s/finish" % self.run_id, body, writer=self._writer, timeout=self._timeout(deadline))
            # a 404 (a proxy before a hub that is restarting) is not a refusal: the end waits
            # for the next program, which creates the run again if need be and ends it
            if 200 <= status < 300 or (400 <= status < 500 and status != 404 and not retryable(status)):
                self._rundir.remove()
                return
        self._rundir.write_end(body)
        if not self._created and self._create_404:
            self._warn_once("exit", "hub %s answered 404 to run %s's creation (a proxy before a hub that is restarting, or a URL that leads to no hub): "
                            "its lines and its end wait in %s for the next program that reaches the hub" % (self.hub.url, self.run_id, self._rundir.path))
        dropped = self.dropped + self._spool.dropped
        # said here too: the run's notice of them reaches the hub only with the next program
        lost = "; %d lines were dropped (the spool full, or more than %d waiting)" % (dropped, self.max_records) if dropped > 0 else ""
        self._warn_once("exit", "hub %s away at exit: run %s's last lines and its end wait in %s%s" % (self.hub.url, self.run_id, self._rundir.path, lost))

    def _failed(self) -> None:
        self._failures += 1
        self.stats["failed_posts"] += 1
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * (2 ** min(self._failures - 1, 10)))
        self._retry_at = time.monotonic() + delay * (0.75 + random.random() / 2)

    def _timeout(self, deadline: Optional[float] = None) -> float:
        if deadline is not None:
            return max(0.5, min(5.0, deadline - time.monotonic()))
        if not self._stopping:
            return 10.0
        # stopping after close(): the end must be on disk by its deadline
        return 2.0 if self._close_deadline is None else max(0.5, min(2.0, self._close_deadline - time.monotonic()))


def batches(records: List[str]):
    """The records in POST-sized batches, in order."""
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


def now_micros() -> int:
    return time.time_ns() // 1000


def why(answer: Any) -> str:
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("error") or "")[:200]
    return ""
