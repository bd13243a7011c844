"""Small file helpers for the spool directory: private files (0600), reads that never raise, the
run directory's lock (an flock held while its shipper lives; the kernel drops it when the process dies)."""
from __future__ import annotations

import json
import os
from typing import Any, Optional

try:
    import fcntl
except ImportError:  # Windows: no locks, so no delivery of other processes' leftovers
    fcntl = None  # type: ignore[assignment]


def read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def read_int(path: str) -> Optional[int]:
    try:
        with open(path, encoding="utf-8") as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return None


def write_private(path: str, text: str) -> None:
    try:
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(tmp, path)
    except OSError:
        pass


def remove_tree(path: str) -> None:
    try:
        for name in os.listdir(path):
            os.remove(os.path.join(path, name))
        os.rmdir(path)
    except OSError:
        pass


def lock_dir(path: str) -> Optional[int]:
    """An exclusive flock on <path>/lock, held until the fd is closed or the process dies; None when taken."""
    if fcntl is None:
        return None
    fd = os.open(os.path.join(path, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except OSError:
        os.close(fd)
        return None


def can_lock() -> bool:
    return fcntl is not None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except PermissionError:  # another user's
        return True
    except (OSError, ValueError, OverflowError):
        return False
