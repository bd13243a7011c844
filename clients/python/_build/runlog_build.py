"""The package's own build backend (PEP 517, and PEP 660 for `pip install -e`), standard library only.

Why not setuptools: pip builds a package in an isolated environment into which it first installs
the backend's requirements from the index. With `requires = ["setuptools"]`, a plain
`pip install ./clients/python` failed on a machine without an index (a GPU box behind a firewall,
a container built offline), even in a venv that sees Debian's python3-setuptools, unless the user
knew to add --no-build-isolation. This backend requires nothing, so it works with or without
isolation, online or not, and builds the same wheel from the same files (no build/ directory left
in the source tree, nothing stale packed from an earlier build).

The metadata is read from pyproject.toml's [project] table (the `key = "value"` lines this file
uses; tomllib is Python 3.11+), the version from runlog/__init__.py.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "runlog"
TAG = "py3-none-any"
# reproducible archives: SOURCE_DATE_EPOCH when set, else 1980-01-01 (zip's earliest date)
_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH") or 315532800)


def _project() -> Dict[str, str]:
    fields: Dict[str, str] = {}
    section = ""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as file:
        for line in file:
            line = line.strip()
            if line.startswith("["):
                section = line
                continue
            match = re.match(r'^([A-Za-z-]+)\s*=\s*"([^"]*)"', line)
            if section == "[project]" and match:
                fields[match.group(1)] = match.group(2)
            license_match = re.match(r'^license\s*=\s*\{\s*text\s*=\s*"([^"]*)"', line)
            if section == "[project]" and license_match:
                fields["license"] = license_match.group(1)
    with open(os.path.join(ROOT, PACKAGE, "__init__.py"), encoding="utf-8") as file:
        version = re.search(r'^__version__\s*=\s*"([^"]+)"', file.read(), re.M)
    fields["version"] = version.group(1) if version else "0"
    return fields


def _metadata() -> str:
    project = _project()
    lines = [
        "Metadata-Version: 2.1",
        "Name: %s" % project.get("name", PACKAGE),
        "Version: %s" % project["version"],
        "Summary: %s" % project.get("description", ""),
        "License: %s" % project.get("license", "UNKNOWN"),
        "Requires-Python: %s" % project.get("requires-python", ">=3.9"),
        "Description-Content-Type: text/markdown",
    ]
    readme = os.path.join(ROOT, project.get("readme", "README.md"))
    body = open(readme, encoding="utf-8").read() if os.path.exists(readme) else ""
    return "\n".join(lines) + "\n\n" + body


def _dist_info() -> str:
    project = _project()
    return "%s-%s.dist-info" % (project.get("name", PACKAGE).replace("-", "_"), project["version"])


def _dist_info_files(root_is_purelib: bool = True) -> List[Tuple[str, bytes]]:
    info = _dist_info()
    wheel = "Wheel-Version: 1.0\nGenerator: runlog_build\nRoot-Is-Purelib: %s\nTag: %s\n" % ("true" if root_is_purelib else "false", TAG)
    return [
        (info + "/METADATA", _metadata().encode("utf-8")),
        (info + "/WHEEL", wheel.encode("utf-8")),
        (info + "/top_level.txt", (PACKAGE + "\n").encode("utf-8")),
    ]


def _package_files() -> List[Tuple[str, bytes]]:
    files = []
    for name in sorted(os.listdir(os.path.join(ROOT, PACKAGE))):
        if name.endswith(".py"):
            with open(os.path.join(ROOT, PACKAGE, name), "rb") as file:
                files.append(("%s/%s" % (PACKAGE, name), file.read()))
    return files


def _write_wheel(wheel_directory: str, files: List[Tuple[str, bytes]]) -> str:
    project = _project()
    name = "%s-%s-%s.whl" % (project.get("name", PACKAGE).replace("-", "_"), project["version"], TAG)
    record_path = _dist_info() + "/RECORD"
    records = []
    os.makedirs(wheel_directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files:
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
            records.append("%s,sha256=%s,%d" % (path, digest, len(data)))
            wheel.writestr(_zip_info(path), data)
        records.append("%s,," % record_path)
        wheel.writestr(_zip_info(record_path), ("\n".join(records) + "\n").encode("utf-8"))
    return name


def _zip_info(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, time.gmtime(max(_EPOCH, 315532800))[:6])
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


# --- PEP 517 / PEP 660 hooks -----------------------------------------------------------------

def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    for path, data in _dist_info_files():
        target = os.path.join(metadata_directory, *path.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as file:
            file.write(data)
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    return _write_wheel(wheel_directory, _package_files() + _dist_info_files())


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None, metadata_directory: Optional[str] = None) -> str:
    # a .pth naming the source directory: the installed `runlog` is the one being edited
    pth = ("%s\n" % ROOT).encode("utf-8")
    return _write_wheel(wheel_directory, [("__editable__.%s.pth" % PACKAGE, pth)] + _dist_info_files())


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    project = _project()
    base = "%s-%s" % (project.get("name", PACKAGE).replace("-", "_"), project["version"])
    paths = ["pyproject.toml", "README.md", "_build/runlog_build.py"] + [path for path, _ in _package_files()]
    os.makedirs(sdist_directory, exist_ok=True)
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as sdist:
        pkg_info = _metadata().encode("utf-8")
        entries = [("PKG-INFO", pkg_info)] + [(path, open(os.path.join(ROOT, path), "rb").read()) for path in paths if os.path.exists(os.path.join(ROOT, path))]
        for path, data in entries:
            info = tarfile.TarInfo("%s/%s" % (base, path))
            info.size, info.mtime, info.mode = len(data), _EPOCH, 0o644
            sdist.addfile(info, io.BytesIO(data))
    return name
