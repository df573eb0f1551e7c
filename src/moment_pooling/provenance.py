"""Provenance recorded in every result table: versions, config hash, git revision."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from moment_pooling.io import atomic_path

TRACKED_PACKAGES = (
    "moment-pooling",
    "numpy",
    "tensorflow",
    "keras",
    "energyflow",
    "pythia8mc",
    "fastjet",
    "h5py",
    "scikit-learn",
    "snakemake",
)


def config_hash(config: Mapping) -> str:
    """Return the SHA-256 of ``config`` serialised as canonical JSON (first 16 hex)."""
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def git_revision(repo: str | os.PathLike | None = None) -> str:
    """Return the git commit of ``repo`` with ``-dirty`` appended for local edits.

    Returns ``"unknown"`` outside a git checkout, or when git is not installed.
    """
    cwd = Path(repo) if repo is not None else Path.cwd()
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + ("-dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    """Return the installed version of each package in ``TRACKED_PACKAGES``."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def provenance(config: Mapping | None = None) -> dict[str, str]:
    """Return the provenance fields written at the top of every result table."""
    record = {"git_revision": git_revision()}
    if config is not None:
        record["config_hash"] = config_hash(config)
    record.update({f"version.{k}": v for k, v in package_versions().items()})
    return record


def write_table(
    path: str | os.PathLike,
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[str],
    config: Mapping | None = None,
) -> None:
    """Write ``rows`` as CSV, headed by ``# key: value`` provenance lines.

    Read it back with :func:`read_table`, ``numpy.genfromtxt(path, comments="#",
    delimiter=",", names=True)`` or ``pandas.read_csv(path, comment="#")``.
    The file is written atomically.
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        for key, value in provenance(config).items():
            handle.write(f"# {key}: {value}\n")
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)


def read_table(path: str | os.PathLike) -> tuple[list[dict[str, str]], dict[str, str]]:
    """Read a table written by :func:`write_table`: its rows and its provenance."""
    meta: dict[str, str] = {}
    lines: list[str] = []
    with open(path, newline="") as handle:
        for line in handle:
            if line.startswith("# "):
                key, _, value = line[2:].rstrip("\n").partition(": ")
                meta[key] = value
            else:
                lines.append(line)
    return list(csv.DictReader(lines)), meta
