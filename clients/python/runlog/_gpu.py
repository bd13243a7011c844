"""GPU memory for heartbeats: torch.cuda when the program has imported torch, else nvidia-smi.

torch is used only when the program already imported it: importing it costs seconds, and asking it
about a GPU creates a CUDA context (hundreds of MB of VRAM) in a process that may not use the GPU.
nvidia-smi is asked for explicit fields (the fields of runlog's Node probe, src/agent/gpu.ts) with
its header line (`--format=csv,nounits`): the columns are read by the names the header gives them,
so a tool (a wrapper, a stand-in) that prints them in another order, or only some of them, is not
misread. Output without a header is read by position. At most once per `cache_s`, killed after
`timeout_s`; a missing tool is remembered for a minute. Never raises.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

# nvidia-smi's field → the key a GPU has in a heartbeat (docs/api.md)
COLUMNS = {
    "index": "index",
    "uuid": "uuid",
    "name": "name",
    "utilization.gpu": "utilization_gpu",
    "memory.total": "memory_total_mb",
    "memory.used": "memory_used_mb",
    "temperature.gpu": "temperature_c",
    "power.draw": "power_draw_w",
}
QUERY = "--query-gpu=" + ",".join(COLUMNS)
FORMAT = "--format=csv,nounits"  # with the header: what names each column
FIELDS = list(COLUMNS.values())
_TEXT_KEYS = ("uuid", "name")
# a header cell: a field name, with its unit in brackets when it has one ("memory.used [MiB]")
_HEADER_CELL = re.compile(r"^([A-Za-z_][\w.]*)(?:\s*\[[^\]]*\])?$")


class GpuProbe:
    def __init__(self, command: str = "nvidia-smi", cache_s: float = 5.0, timeout_s: float = 2.0) -> None:
        self.command = command
        self.cache_s = cache_s
        self.timeout_s = timeout_s
        self._at = -1e9
        self._snapshot: Dict[str, Any] = {"vram_total_mb": None, "vram_used_mb": None, "gpus": []}

    def snapshot(self) -> Dict[str, Any]:
        """{vram_total_mb, vram_used_mb, gpus}: sums over the GPUs; None when there is no GPU to read."""
        now = time.monotonic()
        if now - self._at < self.cache_s:
            return self._snapshot
        gpus = _torch_gpus()
        if gpus is None:
            gpus, missing = self._nvidia_smi()
            if missing:  # no nvidia-smi here: ask again in a minute, not every heartbeat
                self._at = now + 60 - self.cache_s
        totals = [g["memory_total_mb"] for g in gpus if g.get("memory_total_mb") is not None]
        useds = [g["memory_used_mb"] for g in gpus if g.get("memory_used_mb") is not None]
        self._snapshot = {
            "vram_total_mb": int(sum(totals)) if totals else None,
            "vram_used_mb": int(sum(useds)) if useds else None,
            "gpus": gpus,
        }
        self._at = max(self._at, now)
        return self._snapshot

    def _nvidia_smi(self) -> Tuple[List[Dict[str, Any]], bool]:
        try:
            done = subprocess.run(
                [self.command, QUERY, FORMAT],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                timeout=self.timeout_s, check=False,
            )
        except FileNotFoundError:
            return [], True
        except (OSError, subprocess.SubprocessError):
            return [], False
        if done.returncode != 0:
            return [], False
        return parse_csv(done.stdout.decode("utf-8", "replace")), False


def parse_csv(text: str) -> List[Dict[str, Any]]:
    """The GPUs in nvidia-smi's CSV answer (banners and error text skipped). After a header line
    (`memory.used [MiB], memory.total [MiB], …`: the names of the fields asked, in any order, any
    of them) each row is read by those names; the columns it has not are None. Without a header, a
    row is read by position: QUERY's fields, or two numbers as `memory.total, memory.used` (what
    the seed's own query prints, `--query-gpu=memory.total,memory.used --format=csv,noheader`)."""
    gpus: List[Dict[str, Any]] = []
    header: Optional[List[str]] = None
    for line in text.lstrip("\ufeff").splitlines():
        fields = [field.strip() for field in line.split(",")]
        names = _header_names(fields)
        if names is not None:
            header = names
            continue
        gpu = _by_header(header, fields, len(gpus)) if header is not None else _by_position(fields, len(gpus))
        if gpu is not None:
            gpus.append(gpu)
    return gpus


def _header_names(fields: List[str]) -> Optional[List[str]]:
    """The field names of a header line (units dropped); None when the line is not one of ours."""
    names = []
    for field in fields:
        match = _HEADER_CELL.match(field)
        if match is None:
            return None
        names.append(match.group(1))
    return names if "memory.total" in names or "memory.used" in names else None


def _by_header(header: List[str], fields: List[str], position: int) -> Optional[Dict[str, Any]]:
    extra = len(fields) - len(header)
    if extra > 0 and "name" in header:  # nvidia-smi does not quote: a comma inside the name
        at = header.index("name")
        fields = fields[:at] + [", ".join(fields[at : at + 1 + extra])] + fields[at + 1 + extra :]
    if len(fields) != len(header):
        return None
    gpu: Dict[str, Any] = {key: None for key in FIELDS}
    for name, value in zip(header, fields):
        key = COLUMNS.get(name)
        if key is None:
            continue
        if key in _TEXT_KEYS:
            gpu[key] = _text(value)
            continue
        gpu[key] = _number(value)
        if gpu[key] is None and not _no_value(value):
            return None  # text where a number goes ("error, 3"): not a GPU's row
    if "index" in header:
        if gpu["index"] is None:
            return None  # text that happens to hold as many commas
        gpu["index"] = int(gpu["index"])
    elif gpu["memory_total_mb"] is None and gpu["memory_used_mb"] is None:
        return None
    else:
        gpu["index"] = position
    return gpu


def _by_position(fields: List[str], position: int) -> Optional[Dict[str, Any]]:
    if len(fields) == 2:
        total, used = _number(fields[0]), _number(fields[1])
        if total is None or used is None:
            return None
        return {"index": position, "uuid": None, "name": None, "memory_total_mb": total, "memory_used_mb": used}
    if len(fields) < len(FIELDS):
        return None
    extra = len(fields) - len(FIELDS)
    if extra:  # a comma inside the name
        fields = fields[:2] + [", ".join(fields[2 : 3 + extra])] + fields[3 + extra :]
    index = _number(fields[0])
    if index is None:
        return None
    gpu: Dict[str, Any] = {"index": int(index), "uuid": _text(fields[1]), "name": _text(fields[2])}
    for key, value in zip(FIELDS[3:], fields[3:]):
        gpu[key] = _number(value)
    return gpu


def _torch_gpus() -> Optional[List[Dict[str, Any]]]:
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        cuda = torch.cuda
        if not cuda.is_available() or not cuda.is_initialized():
            return None
        gpus = []
        for index in range(cuda.device_count()):
            free, total = cuda.mem_get_info(index)
            gpus.append({
                "index": index, "uuid": None, "name": cuda.get_device_name(index),
                "memory_total_mb": total // (1024 * 1024), "memory_used_mb": (total - free) // (1024 * 1024),
            })
        return gpus
    except Exception:  # noqa: BLE001
        return None


def _number(text: str) -> Optional[float]:
    # units slip in when someone drops `nounits` ("81559 MiB", "250.00 W", "45 %")
    for unit in (" MiB", " W", " %", " C"):
        if text.endswith(unit):
            text = text[: -len(unit)]
            break
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() else value


def _no_value(text: str) -> bool:
    # `[N/A]`, `[Not Supported]`, `[Requested functionality has been deprecated]`, `N/A`, ''
    return text in ("", "N/A") or (text.startswith("[") and text.endswith("]"))


def _text(text: str) -> Optional[str]:
    return None if text in ("", "[N/A]", "[Not Supported]") else text
