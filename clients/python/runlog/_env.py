"""Where the hub is, the token, the spool directory, ids and levels: one place for each."""
from __future__ import annotations

import math
import os
import secrets
import sys
import time
import urllib.parse
from typing import Optional

DEFAULT_HUB = "http://127.0.0.1:7070"
ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"


def resolve_hub(hub: Optional[str]) -> str:
    """The argument, else RUNLOG_HUB, else the local default; without a trailing slash. An argument
    that is not an http(s) URL (`hub:7070`, which urllib takes for a scheme: a hub away for ever)
    is a ValueError, as the CLI refuses it; RUNLOG_HUB's is said once on stderr (the lines wait in
    the spool, for a program that reaches a hub)."""
    if hub:
        url = hub.strip().rstrip("/")
        if not _http_url(url):
            raise ValueError("hub: expected an http:// or https:// URL, got %r" % (hub,))
        return url
    env = (os.environ.get("RUNLOG_HUB") or "").strip()
    if not env:
        return DEFAULT_HUB
    url = env.rstrip("/")
    if not _http_url(url) and env not in _said_hubs:
        _said_hubs.add(env)
        hint = "" if "://" in env else " (http://%s?)" % url
        warn("RUNLOG_HUB=%r: expected an http:// or https:// URL%s; lines wait in the spool until a program reaches a hub" % (env, hint))
    return url


_said_hubs: set = set()


def _http_url(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def resolve_token(token: Optional[str]) -> Optional[str]:
    """The argument, else RUNLOG_TOKEN, else the contents of RUNLOG_TOKEN_FILE; None without one."""
    if token:
        return token
    if os.environ.get("RUNLOG_TOKEN"):
        return os.environ["RUNLOG_TOKEN"].strip()
    path = os.environ.get("RUNLOG_TOKEN_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                token = file.read().strip()
        except OSError as error:
            warn("token file %s: %s; going on without a token" % (path, error.strerror or error))
            return None
        if not token:
            warn("token file %s is empty; going on without a token" % path)
        return token or None
    return None


def spool_root() -> str:
    """RUNLOG_SPOOL, else ~/.cache/runlog (XDG_CACHE_HOME honoured)."""
    if os.environ.get("RUNLOG_SPOOL"):
        return os.environ["RUNLOG_SPOOL"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "runlog")


def program_name() -> str:
    """The run's default name: the program's file name (`train.py`), `python` for an interactive session
    or a program read from stdin, `python -c` for `python -c CODE` (not the bare `-c` or `-` of argv[0])."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if argv0 == "-c":
        return "python -c"
    if argv0 == "-":
        return "python"
    name = os.path.basename(argv0)
    if name == "__main__.py":  # `python -m package`: the package's name
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        parent = spec.name.rsplit(".", 1)[0] if spec is not None and spec.name.endswith(".__main__") else ""
        return parent or os.path.basename(os.path.dirname(argv0)) or "python"
    return name or "python"


def new_run_id() -> str:
    """`r-<ms base36>-<8 hex>`, as the hub makes them: ids sort by creation time."""
    return "r-%s-%s" % (_base36(int(time.time() * 1000)), secrets.token_hex(4))


def new_writer_key() -> str:
    """The run's writer key (PROTOCOL.md): 16 random bytes, base64url, sent as X-Runlog-Writer."""
    return secrets.token_urlsafe(16)


def valid_id(text: object) -> bool:
    return isinstance(text, str) and 0 < len(text) <= 128 and text[0].isalnum() and text.isascii() and all(c in ID_CHARS for c in text)


def run_id_problem(text: object) -> Optional[str]:
    """Why the hub would refuse this run id (None: it would take it): `worker:…` names the streams
    of workers' own lines, a 400 to the run's create, which left a Handler spooling for ever."""
    if not valid_id(text):
        return "expected [A-Za-z0-9][A-Za-z0-9._:-]{0,127}"
    if str(text).startswith("worker:"):
        return "`worker:` is kept for the lines of workers"
    return None


def level_name(levelno: int) -> str:
    """Python's levelno → runlog's level; a level in between rounds down (loguru's SUCCESS 25 is INFO)."""
    if levelno >= 50:
        return "CRITICAL"
    if levelno >= 40:
        return "ERROR"
    if levelno >= 30:
        return "WARNING"
    if levelno >= 20:
        return "INFO"
    return "DEBUG"


def env_number(name: str, default: float, integer: bool = False) -> float:
    """A positive number (a whole one when `integer`) from the environment; unset or empty: `default`.
    Any other value is said on stderr with the one used instead: a worker started with
    HEARTBEAT_INTERVAL=0 must not beat every 20 s without a word."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and value > 0 and (not integer or value.is_integer()):
        return int(value) if integer else value
    warn("%s=%r: expected a positive %s; using %g" % (name, text, "integer" if integer else "number of seconds", default))
    return default


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"


def warn(message: str) -> None:
    """A note to the program's stderr; never raises (stderr may be closed)."""
    try:
        sys.stderr.write("runlog: %s\n" % message)
    except Exception:  # noqa: BLE001 - a broken stderr is not the program's problem
        pass
