"""RunDir: a run's directory in the spool, and the files under refused/ (RunShipper's disk side).

On disk, under <spool> (RUNLOG_SPOOL, or the Handler's spool_dir):
- runs/<id>/ (0700), while a shipper of this spool has the run, and after it while something is
  left to deliver:
    lock          an flock held while the run's shipper lives; the kernel drops it when the
                  process dies, so a lock that can be taken means a dead (or ended) shipper
    owner         the pid of the shipper that holds the lock, written as soon as it is taken: a
                  live pid is another Handler that writes the run (RunShipper._keep_apart), not
                  a deliverer to wait for
    run.json      the run's id, name and writer key (0600): a process that resumes the run by
                  its id is its writer, and the next process delivers its leftovers as it
    seq           the last seq given, so a resumed run numbers on
    pending.jsonl the batches that wait for the hub (_spool.py)
    end.json      the run's end, when the hub was away at exit
  The directory is removed once the run has ended on the hub with nothing left to send.
- refused/<id>.jsonl: the lines of a run the hub will not have (one record a line); and
  refused/<id>.<pid>.<n>.jsonl: those of a shipper kept apart from a run another Handler writes.
  Nothing sends them later.
owner, run.json, seq and end.json are written whole or not at all (write_private: a temporary
file, then a rename; an error is passed over). A crash leaves the directory as it was (a torn last
line in pending.jsonl, a *.tmp file, at worst) and its lock free: the next process of this spool
that reaches the hub delivers it (_leftovers.py).
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Optional, Tuple

from ._env import new_writer_key
from ._files import can_lock, lock_dir, pid_alive, read_int, read_json, remove_tree, write_private
from ._spool import Spool

LOCK_WAIT_S = 5.0  # a run directory locked by a process delivering it (not a live Handler) is waited for this long

_apart = 0  # shippers kept apart from a run another Handler writes (apart_spool): each its own file


class RunDir:
    def __init__(self, root: str, run_id: str) -> None:
        self.root = root
        self.run_id = run_id
        self.path = os.path.join(root, "runs", run_id)
        self.lock_fd: Optional[int] = None  # held open: the flock says this run has a live shipper
        self.held_by_live = False  # try_lock found the lock held by a live shipper
        self.holder: Optional[int] = None  # that shipper's pid, as `owner` said then
        self.seq_saved = 0

    def pending(self) -> Spool:
        return Spool(os.path.join(self.path, "pending.jsonl"))

    def try_lock(self) -> None:
        """The lock tried once, without waiting (RunShipper does it on the caller's thread)."""
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            self.lock_fd = lock_dir(self.path)
        except OSError:
            pass
        if self.lock_fd is not None:
            self._say_owner()
        else:
            owner = self.owner()
            self.held_by_live = can_lock() and owner is not None and pid_alive(owner)
            # kept: by the time the shipper's thread says who holds the run, the holder may have
            # ended it and removed the directory, `owner` with it
            self.holder = owner if self.held_by_live else None

    def take_lock(self) -> bool:
        """True when this process holds the lock, or locks do not work here. Held by a live shipper
        (`owner` names a live pid, this one's included: another Handler of this program): False at
        once. Held by a process delivering a dead one's leftovers (_leftovers.py): waited for a few
        seconds (it may remove the directory)."""
        if self.held_by_live:
            # decided when the Handler was made: should the holder end the run before this
            # thread looks, the lock would be free, and the run, ended, would refuse these lines.
            # Nothing made here either: the holder may be removing the directory this instant
            # (makedirs then raised EEXIST, the spool was taken for unusable, and this Handler
            # wrote the run on the hub after all: 409, 1 pair in 100 on a loaded CI)
            return False
        if self.lock_fd is None:  # (held: the directory is there, and only a lock's holder removes it)
            deadline = time.monotonic() + LOCK_WAIT_S
            while True:
                try:
                    os.makedirs(self.path, mode=0o700, exist_ok=True)
                    fd = lock_dir(self.path)
                except OSError:
                    fd = None
                owner = self.owner()
                if fd is not None or not can_lock() or (owner is not None and pid_alive(owner)) or time.monotonic() > deadline:
                    self.lock_fd = fd
                    break
                time.sleep(0.05)
            if self.lock_fd is not None:
                self._say_owner()
        return self.lock_fd is not None or not can_lock()

    def _say_owner(self) -> None:
        # at once, with the lock: a Handler of this run that finds it taken before `owner` names a
        # live pid takes the holder for a deliverer and waits; one whose holder ended the run
        # meanwhile took the run, ended already, and had its lines refused
        write_private(os.path.join(self.path, "owner"), str(os.getpid()))

    def release(self) -> None:
        """Done with the run: what it left is for a deliverer, or a new Handler of it."""
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def owner(self) -> Optional[int]:
        return read_int(os.path.join(self.path, "owner"))

    def open(self, name: Optional[str]) -> Tuple[str, Optional[int]]:
        """The run's writer key (made, and kept in run.json, for a run this spool has not seen) and
        its last seq given, if one was saved."""
        meta = read_json(os.path.join(self.path, "run.json"))
        if isinstance(meta, dict) and isinstance(meta.get("writer"), str):
            writer = meta["writer"]  # a run resumed by its id: the same writer
        else:
            writer = new_writer_key()
            self.write_meta(name, writer)
        saved = read_int(os.path.join(self.path, "seq"))
        if saved is not None:
            self.seq_saved = saved
        return writer, saved

    def write_meta(self, name: Optional[str], writer: str) -> None:
        write_private(os.path.join(self.path, "run.json"), json.dumps({"id": self.run_id, "name": name, "writer": writer}))

    def save_seq(self, seq: int) -> None:
        if seq != self.seq_saved:
            self.seq_saved = seq
            write_private(os.path.join(self.path, "seq"), str(seq))

    def write_end(self, body: Any) -> None:
        write_private(os.path.join(self.path, "end.json"), json.dumps(body))

    def remove(self) -> None:
        if self.path:  # none of ours once disowned (RunShipper._keep_apart)
            remove_tree(self.path)

    def disown(self) -> None:
        """The run is another Handler's: its directory is never written nor removed by this one."""
        self.path = ""

    def refused(self) -> Spool:
        """Where the lines of a run the hub will not have are kept: refused/<id>.jsonl."""
        return Spool(os.path.join(self.root, "refused", self.run_id + ".jsonl"))

    def apart(self) -> Spool:
        """Where a shipper kept apart from a run another Handler writes keeps its lines: a file of
        its own under refused/ (the pid, and a count of this process's shippers kept apart)."""
        global _apart
        _apart += 1
        return Spool(os.path.join(self.root, "refused", "%s.%d.%d.jsonl" % (self.run_id, os.getpid(), _apart)))


def move_to_refused(pending: Spool, kept: Spool, seq: int) -> int:
    """Moves what waited in the run's spool to `kept` (refused/<id>.jsonl), one record a line, and
    returns the last seq given. Numbered on after what the file holds (an earlier program refused
    under this id), so it is one run's lines; those that waited for the hub to number them too."""
    seq = max([seq] + [r.get("seq", 0) for r in kept._read() if isinstance(r, dict)])
    seq = pending.number(seq)

    def keep(batch: Any) -> bool:
        for record in batch if isinstance(batch, list) else []:
            kept.append(record)
        return True

    pending.replay(keep)
    return seq
