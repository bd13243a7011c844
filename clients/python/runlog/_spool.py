"""Spool: what waits on disk while the hub is away.

One file of JSON lines, one item (a batch of records, a heartbeat) per line, appended as items
fail to go out and replayed oldest first. Nothing is fsynced: the spool is there for a hub that
is away, not for a machine that loses power. A crash in the middle of an append leaves a torn last
line, which replay skips. The file is bounded (`max_bytes`): past the bound, new items are not
written and the records they carried are counted in `dropped`, which the sender reports; so is
an item the disk has no room for (an error or a short write: what it wrote is cut off again).
Replaying an item twice is harmless: the hub keeps a line once (runs by (stream, seq), worker
lines by their client seq and timestamp).
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, Iterator, List, Optional

from ._http import utf8


class Spool:
    def __init__(self, path: str, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.dropped = 0
        self._size = _file_size(path)
        # what the spool holds when a rewrite (number, replay) found no room on the disk: the file
        # still has the older text (records with seq 0 the hub refuses, items already sent), so
        # reads take this instead, and appends go to both, until a rewrite or removal succeeds
        self._held: Optional[List[Any]] = None

    @property
    def empty(self) -> bool:
        return self._size == 0

    def append(self, item: Any, weight: int = 1) -> None:
        self.append_json(json.dumps(item, separators=(",", ":"), ensure_ascii=False, default=str), weight)

    def append_json(self, text: str, weight: int = 1) -> None:
        """append() of an item already written as JSON text (one line: JSON text has no raw newline)."""
        line = utf8(text + "\n")
        if self._size + len(line) > self.max_bytes:
            self.dropped += weight
            return
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                start = os.fstat(fd).st_size
                try:
                    if os.write(fd, line) != len(line):
                        raise OSError(28, "short write (disk full)")
                except OSError:
                    # a torn line would glue itself to the next item: both unreadable, lost unsaid
                    os.ftruncate(fd, start)
                    raise
            finally:
                os.close(fd)
            self._size = start + len(line)
            if self._held is not None:
                self._held.append(json.loads(text))
        except OSError:
            self.dropped += weight

    def replay(self, send: Callable[[Any], bool]) -> bool:
        """Sends the items oldest first until one fails; keeps the rest. True when the spool is empty."""
        if self._size == 0:
            return True
        items = self._read()
        sent = 0
        for item in items:
            if not send(item):
                break
            sent += 1
        self._rewrite(items[sent:])
        return self._size == 0

    def holds_unnumbered(self) -> bool:
        """Some record waits with seq 0 (see number)."""
        return self._size > 0 and any(True for _ in _unnumbered(self._read()))

    def number(self, last: int) -> int:
        """Gives the records spooled before their run's numbering was known (seq 0) the seqs after
        `last`, oldest first, and returns the last seq given (`last` when there were none)."""
        if self._size == 0:
            return last
        items = self._read()
        numbered = last
        for record in _unnumbered(items):
            numbered += 1
            record["seq"] = numbered
        if numbered != last:
            self._rewrite(items)
        return numbered

    def _read(self) -> List[Any]:
        if self._held is not None:
            return list(self._held)
        items: List[Any] = []
        try:
            with open(self.path, "rb") as file:
                for raw in file:
                    try:
                        items.append(json.loads(raw))
                    except ValueError:
                        continue  # a torn line from a crash mid-append
        except OSError:
            pass
        return items

    def _rewrite(self, rest: List[Any]) -> None:
        if not rest:
            _remove(self.path)
            self._size = 0
            self._held = None
            return
        tmp = self.path + ".tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as file:
                for item in rest:
                    file.write(utf8(json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n"))
            os.replace(tmp, self.path)
            self._held = None
        except OSError:
            _remove(tmp)  # a full disk: its room back; what the spool holds now is kept in memory
            self._held = list(rest)
        self._size = _file_size(self.path)


def _unnumbered(items: List[Any]) -> Iterator[Dict[str, Any]]:
    """The records with seq 0 in spooled batches, in order; items that are not batches of records
    (a worker's heartbeats) are passed over."""
    for item in items:
        if isinstance(item, list):
            for record in item:
                if isinstance(record, dict) and record.get("seq") == 0:
                    yield record


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _remove(path: Optional[str]) -> None:
    if path is None:
        return
    try:
        os.remove(path)
    except OSError:
        pass
