"""GPU memory for heartbeats: torch.cuda when the program has imported torch, else nvidia-smi.

torch is used only when the program already imported it: importing it costs seconds, and asking it
about a GPU creates a CUDA context (hundreds of MB of VRAM) in a process that may not use the GPU.
nvidia-smi is asked the same query as runlog's Node probe (src/agent/gpu.ts), at most once per
`cache_s`, killed after `timeout_s`; a missing tool is remembered for a minute. Never raises.
"""
from __future__ import annotations

import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

QUERY = "--query-gpu=index,uuid,name,utilization.gpu,memory.total,memory.used,temperature.gpu,power.draw"
FIELDS = ["index", "uuid", "name", "utilization_gpu", "memory_total_mb", "memory_used_mb", "temperature_c", "power_draw_w"]


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
                [self.command, QUERY, "--format=csv,noheader,nounits"],
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
    """Rows of QUERY (banners and error text skipped). A row of two numbers is read as
    `memory.total, memory.used`: what the seed's own query prints, and so what a wrapper or a
    stand-in made for it answers whatever it is asked."""
    gpus: List[Dict[str, Any]] = []
    for line in text.splitlines():
        fields = [field.strip() for field in line.split(",")]
        if len(fields) == 2:
            total, used = _number(fields[0]), _number(fields[1])
            if total is not None and used is not None:
                gpus.append({"index": len(gpus), "uuid": None, "name": None, "memory_total_mb": total, "memory_used_mb": used})
            continue
        if len(fields) < len(FIELDS):
            continue
        extra = len(fields) - len(FIELDS)
        if extra:  # a comma inside the name
            fields = fields[:2] + [", ".join(fields[2 : 3 + extra])] + fields[3 + extra :]
        index = _number(fields[0])
        if index is None:
            continue
        gpu: Dict[str, Any] = {"index": int(index), "uuid": _text(fields[1]), "name": _text(fields[2])}
        for key, value in zip(FIELDS[3:], fields[3:]):
            gpu[key] = _number(value)
        gpus.append(gpu)
    return gpus


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


def _text(text: str) -> Optional[str]:
    return None if text in ("", "[N/A]", "[Not Supported]") else text
