"""Delivering what dead processes left in the spool: the runs whose shipper's lock can be taken
(their process is gone), each run's lines, then its end if it had one. A run killed before its end
is left as the hub's lease leaves it; its directory goes once nothing is left to deliver. A 404 to
the create leaves the run where it is, said on stderr; lines the hub will no longer take (409: the
run ended there; 403: another program writes its id) go to <spool>/refused/<id>.jsonl, said on
stderr as `runlog sync` says it, and the end follows."""
from __future__ import annotations

import os
import threading
import time
from typing import Any, List, Optional

from ._env import warn
from ._files import lock_dir, read_json, remove_tree
from ._http import Hub, create_run, hub_last_seq, retryable
from ._rundir import move_to_refused
from ._runhub import why
from ._spool import Spool


# Who delivers, and when. Once per process at first: its first shipper or worker that reaches the
# hub delivers what dead processes left. Again whenever a run of this live process was left in the
# spool (a `runlog.run` block or a Handler that ended while the hub was away): a long-lived
# program's other shippers deliver it once the hub is back, rather than the hub failing it as
# "runner lost" with its last lines and its end waiting for the next program. A delivery cut short
# (the hub went away again) is tried again after RETRY_S.
_state = threading.Lock()
_wanted = True  # something may wait in the spool for this process to deliver
_delivering = False
_not_before = 0.0
RETRY_S = 10.0


def claim_leftovers() -> bool:
    """True when the caller is to deliver now (it then calls deliver_leftovers), else False."""
    global _wanted, _delivering
    with _state:
        if _delivering or not _wanted or time.monotonic() < _not_before:
            return False
        _wanted, _delivering = False, True
        return True


def left_in_spool() -> None:
    """A run of this process ended with lines or its end still in the spool: deliver it soon."""
    global _wanted, _not_before
    with _state:
        _wanted, _not_before = True, 0.0


def _delivered(complete: bool) -> None:
    global _wanted, _delivering, _not_before
    with _state:
        _delivering = False
        if not complete:
            _wanted, _not_before = True, time.monotonic() + RETRY_S


def deliver_leftovers(hub: Hub, runs_dir: str, own_dir: Optional[str], deadline: float) -> None:
    """Delivers what other shippers left in the spool (dead processes', and this one's ended runs):
    each run's lines, then its end, until `deadline`."""
    complete = False
    try:
        complete = _deliver_all(hub, runs_dir, own_dir, deadline)
    finally:
        _delivered(complete)


def _deliver_all(hub: Hub, runs_dir: str, own_dir: Optional[str], deadline: float) -> bool:
    try:
        names = sorted(os.listdir(runs_dir))
    except OSError:
        return True
    for name in names:
        if time.monotonic() > deadline:
            return False
        path = os.path.join(runs_dir, name)
        if path == own_dir or not os.path.isdir(path):
            continue
        fd = lock_dir(path)
        if fd is None:
            continue  # its shipper is alive (in this process or another), or locks do not work here
        try:
            if not _deliver_one(hub, path, name):
                return False  # the hub went away: the rest waits for a later try
        finally:
            os.close(fd)
    return True


def _deliver_one(hub: Hub, path: str, run_id: str) -> bool:
    meta = read_json(os.path.join(path, "run.json"))
    writer = meta.get("writer") if isinstance(meta, dict) else None
    if not isinstance(writer, str):
        return True
    spool = Spool(os.path.join(path, "pending.jsonl"))
    refusal: List[Any] = []  # (status, answer) once the hub refused to create the run
    ended: List[Any] = []  # (status, answer) once the hub refused the run's lines (409: it ended there)
    not_found: List[bool] = []  # the create was answered 404: the run waits

    def create() -> int:
        status, answer, _ = create_run(hub, _create_body(run_id, meta), writer)
        # 404: not the hub's answer about this run (it creates any run it is sent) but a proxy's
        # while the hub restarts: the run waits for the next program, as `runlog sync` leaves a
        # WAL (src/sinks/hub-replay.ts)
        if status == 404:
            not_found[:] = [True]
        elif status not in (200, 201, 409) and not retryable(status):
            refusal[:] = [status, answer]
        return status

    def post(path_: str, body: Any) -> int:
        status, answer = hub.request("POST", path_, body, writer=writer)
        if status == 404:  # never created: the hub was away all its life (or a proxy's 404 then)
            created = create()
            if created in (200, 201, 409):
                status, answer = hub.request("POST", path_, body, writer=writer)
            else:
                return 0  # kept: refused (to refused/ with the rest), or the 404 again (waits)
        if status in (403, 409) and path_.endswith("/logs"):
            # the run ended on the hub (409), or another process writes it now (403): no later try
            # changes that. Node's `runlog sync` says so and goes on to the run's end (its lines
            # stay in its log file); here the spool is their only copy: kept in refused/
            ended[:] = [status, answer]
            return 0
        return status

    def waits() -> bool:
        warn("run %s, left in the spool by an earlier program, waits in %s: the hub at %s answered 404 for POST /api/runs "
             "(a proxy's while the hub restarts?); the next program that reaches the hub tries again" % (run_id, path, hub.url))
        return False

    # lines of a process that never heard from the hub wait with seq 0: numbered after the run's last line there
    if spool.holds_unnumbered():
        created = create()
        if refusal:
            return _keep_refused(path, run_id, spool, refusal)
        if not_found:
            return waits()
        if retryable(created):
            return False
        last = hub_last_seq(hub, run_id)
        if last is None:
            return False
        spool.number(last)
    # taken, or refused for good: either way done with (but a run the hub will not create: kept)
    delivered = spool.replay(lambda batch: not retryable(post("/api/runs/%s/logs" % run_id, {"records": batch})))
    if refusal:
        return _keep_refused(path, run_id, spool, refusal)
    if ended:
        kept = _keep_lines(path, run_id, spool)
        if kept is None:
            return True  # could not be moved (a full disk): they stay, for the next program
        # Node's words (`runlog sync`: "the hub refuses its lines: …"); then the run's end, as it does
        warn("run %s, left in the spool by an earlier program: the hub refuses its lines: %s; they are kept in %s" % (run_id, why(ended[1]) or "answered %d" % ended[0], kept))
        delivered = True
    if not delivered:
        return waits() if not_found else False
    end = read_json(os.path.join(path, "end.json"))
    if isinstance(end, dict):
        status = post("/api/runs/%s/finish" % run_id, end)
        if refusal:
            return _keep_refused(path, run_id, spool, refusal)
        if retryable(status):
            return waits() if not_found else False
    # nothing left to deliver (a run killed before its end is the hub's lease's to fail)
    remove_tree(path)
    return True


def _keep_refused(path: str, run_id: str, spool: Spool, refusal: List[Any]) -> bool:
    """The hub will not create the run: its lines go where a live shipper keeps a refused run's
    (<spool>/refused/<id>.jsonl), said on stderr, and nothing sends them later; the run's directory
    goes. True: go on with the next run."""
    had_lines = not spool.empty
    kept = _keep_lines(path, run_id, spool)
    if kept is None:
        return True  # could not be moved (a full disk): it stays, for the next program
    remove_tree(path)
    status, answer = refusal
    what = "its lines are kept in %s" % kept if had_lines else "its end is dropped"
    warn("run %s, left in the spool by an earlier program, cannot be written (hub answered %d: %s); %s" % (run_id, status, why(answer), what))
    return True


def _keep_lines(path: str, run_id: str, spool: Spool) -> Optional[str]:
    """Moves what waits in the run's spool to <spool>/refused/<id>.jsonl; its path, or None when
    some could not be moved (a full disk)."""
    kept = Spool(os.path.join(os.path.dirname(os.path.dirname(path)), "refused", run_id + ".jsonl"))
    move_to_refused(spool, kept, 0)
    return kept.path if spool.empty else None


def _create_body(run_id: str, meta: Any) -> Any:
    # with a lease: a run whose process was killed before its end is failed by the hub, not left running
    return {"id": run_id, "name": meta.get("name") if isinstance(meta, dict) else None, "lease_s": 10}
