"""The one function that talks to the hub: every request carries the token (when there is one)
and the run's writer key (when it has one). Never raises: a hub that cannot be reached is status 0."""
from __future__ import annotations

import codecs
import json
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

USER_AGENT = "runlog-python/0.1"
# Straight to the hub, as the CLI goes: not through http_proxy / https_proxy. urllib's default
# opener takes those from the environment, and a GPU box with a proxy set for pip sent even a
# hub on 127.0.0.1 to the proxy (no_proxy is rarely set for it): the lines waited in the spool.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class RawJson(str):
    """A request body that is JSON text already (Hub.request sends it as it is)."""

    __slots__ = ()


class Hub:
    def __init__(self, url: str, token: Optional[str]) -> None:
        self.url = url
        self._token = token

    def __repr__(self) -> str:  # the token never reaches a log line or a traceback
        return "Hub(%r)" % self.url

    def request(
        self, method: str, path: str, body: Any = None, writer: Optional[str] = None, timeout: float = 10.0
    ) -> Tuple[int, Any]:
        """(status, parsed JSON answer or None); status 0 when the hub could not be reached."""
        headers: Dict[str, str] = {"User-Agent": USER_AGENT}
        data = None
        if body is not None:
            text = body if type(body) is RawJson else json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
            data = utf8(text)
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = "Bearer " + self._token
        if writer:
            headers["X-Runlog-Writer"] = writer
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(request, timeout=timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            try:
                payload = _json(error.read())
            except Exception:  # noqa: BLE001
                payload = None
            return error.code, payload
        except Exception:  # noqa: BLE001 - refused, reset, timed out, DNS: all "not reachable now"
            return 0, None


def _replace_unencodable(error: UnicodeError) -> Tuple[bytes, int]:
    # bytes: an encoder takes a str replacement only when it is ASCII
    return "\ufffd".encode("utf-8") * (error.end - error.start), error.end  # type: ignore[attr-defined]


codecs.register_error("runlog.replace", _replace_unencodable)


def utf8(text: str) -> bytes:
    """`text` as UTF-8; a lone surrogate becomes U+FFFD (as the hub reads bytes that are not UTF-8).
    A program makes them without knowing: os.fsdecode() of a file name that is not UTF-8, bytes
    decoded with errors="surrogateescape". Strict UTF-8 would refuse the whole batch they are in."""
    return text.encode("utf-8", "runlog.replace")


def short(value: object, limit: int = 300) -> str:
    """repr() of an error for a warning, cut: an encoding error's repr holds the whole text it failed on."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def hub_last_seq(hub: "Hub", run_id: str, timeout: float = 10.0) -> Optional[int]:
    """The seq of the run's last line on the hub (0: none); None when the hub did not say."""
    status, answer = hub.request("GET", "/api/runs/%s/logs?tail=1" % run_id, timeout=timeout)
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("logs"), list):
        return None
    logs = answer["logs"]
    return int(logs[-1].get("seq", 0)) if logs else 0


# POST /api/runs fields a run can do without (docs/api.md, "Limits"): text cut to the hub's bound
_TEXT_LIMITS = {"name": 256, "command": 64 * 1024}


def create_run(hub: "Hub", body: Dict[str, Any], writer: Optional[str], timeout: float = 10.0) -> Tuple[int, Any, List[str]]:
    """POST /api/runs. A 400 naming a field the run can do without (its name, command, a label,
    lease_s) is tried again at once without it: the program's lines matter more than its run's
    name. Only the id (and the token, and a run that already ended) cannot be helped that way.
    Returns (status, answer, what was changed: one "<the hub's message> (<what was done>)" each);
    `body` is left as the hub last saw it."""
    changes: List[str] = []
    while True:
        status, answer = hub.request("POST", "/api/runs", body, writer=writer, timeout=timeout)
        change = _without_refused(body, answer) if status == 400 else None
        if change is None:
            return status, answer, changes
        changes.append(change)


def _without_refused(body: Dict[str, Any], answer: Any) -> Optional[str]:
    """Takes the field a 400 names out of `body` (a name or command too long is cut first, a label
    that is not text is sent as text); None when there is nothing to take. Each call takes something
    away, so create_run's loop ends."""
    field = answer.get("field") if isinstance(answer, dict) else None
    if not isinstance(field, str):
        return None
    message = str(answer.get("message") or field)[:200]
    top = field.split(".", 1)[0]
    if top in _TEXT_LIMITS and top in body:
        limit, data = _TEXT_LIMITS[top], utf8(str(body[top]))
        if isinstance(body[top], str) and len(data) > limit:
            body[top] = data[:limit].decode("utf-8", "ignore")  # not half a character
            return "%s (%s cut to %d bytes)" % (message, top, limit)
        del body[top]
        return "%s (%s left out)" % (message, top)
    if top == "labels" and "labels" in body:
        labels, key = body["labels"], field[len("labels."):]
        if isinstance(labels, dict) and field.startswith("labels.") and key in labels:
            if isinstance(labels[key], str):
                body["labels"] = {k: v for k, v in labels.items() if k != key}
                return "%s (label %s left out)" % (message, key)
            body["labels"] = {**labels, key: str(labels[key])}  # labels={"epochs": 3}
            return "%s (label %s sent as text)" % (message, key)
        del body["labels"]  # the hub does not say which one (a key too long, too many)
        return "%s (labels left out)" % message
    if top == "lease_s" and "lease_s" in body:
        del body["lease_s"]
        return "%s (the hub's default lease instead)" % message
    return None


def retryable(status: int) -> bool:
    """Unreachable, 5xx, 507 (store full), 429: try again later; other 4xx will not change."""
    return status == 0 or status >= 500 or status == 429 or status == 408


def _json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
