"""Delivering what dead processes left in the spool: the runs whose shipper's lock can be taken
(their process is gone), each run's lines, then its end if it had one. A run killed before its end
is left as the hub's lease leaves it; its directory goes once nothing is left to deliver."""
from __future__ import annotations

import os
import threading
import time
from typing import Any, Optional

from ._files import lock_dir, read_json, remove_tree
from ._http import Hub, create_run, hub_last_seq, retryable
from ._spool import Spool


_claimed = threading.Lock()  # once per process: by its first shipper or worker that reaches the hub


def claim_leftovers() -> bool:
    """True for the first caller of the process (who then calls deliver_leftovers), False after."""
    return _claimed.acquire(blocking=False)


def deliver_leftovers(hub: Hub, runs_dir: str, own_dir: Optional[str], deadline: float) -> None:
    """Delivers what dead processes left in the spool: each run's lines, then its end, until `deadline`."""
    try:
        names = sorted(os.listdir(runs_dir))
    except OSError:
        return
    for name in names:
        if time.monotonic() > deadline:
            return
        path = os.path.join(runs_dir, name)
        if path == own_dir or not os.path.isdir(path):
            continue
        fd = lock_dir(path)
        if fd is None:
            continue  # its process is alive, or locks do not work here
        try:
            if not _deliver_one(hub, path, name):
                return  # the hub went away: the rest waits for the next process
        finally:
            os.close(fd)


def _deliver_one(hub: Hub, path: str, run_id: str) -> bool:
    meta = read_json(os.path.join(path, "run.json"))
    writer = meta.get("writer") if isinstance(meta, dict) else None
    if not isinstance(writer, str):
        return True
    spool = Spool(os.path.join(path, "pending.jsonl"))

    def post(path_: str, body: Any) -> int:
        status, _ = hub.request("POST", path_, body, writer=writer)
        if status == 404:  # never created: the hub was away all its life
            created, _, _ = create_run(hub, _create_body(run_id, meta), writer)
            if created in (200, 201):
                status, _ = hub.request("POST", path_, body, writer=writer)
        return status

    # lines of a process that never heard from the hub wait with seq 0: numbered after the run's last line there
    if spool.holds_unnumbered():
        created, _, _ = create_run(hub, _create_body(run_id, meta), writer)
        if retryable(created):
            return False
        last = hub_last_seq(hub, run_id)
        if last is None:
            return False
        spool.number(last)
    # taken, or refused for good: either way done with
    if not spool.replay(lambda batch: not retryable(post("/api/runs/%s/logs" % run_id, {"records": batch}))):
        return False
    end = read_json(os.path.join(path, "end.json"))
    if isinstance(end, dict) and retryable(post("/api/runs/%s/finish" % run_id, end)):
        return False
    # nothing left to deliver (a run killed before its end is the hub's lease's to fail)
    remove_tree(path)
    return True


def _create_body(run_id: str, meta: Any) -> Any:
    # with a lease: a run whose process was killed before its end is failed by the hub, not left running
    return {"id": run_id, "name": meta.get("name") if isinstance(meta, dict) else None, "lease_s": 10}
