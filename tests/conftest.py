"""Shared fixtures: a copy of the workflow run end to end on the tiny config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# What a workflow run needs besides the installed package: the root Snakefile,
# the rules, scripts, schemas, profiles and report captions, the configs and
# the conda environment file that every rule names.
WORKFLOW_PATHS = ("Snakefile", "workflow", "config", "environment.yml")
TEST_CONFIG = "config/test.yaml"
# The tiny DAG takes a few minutes on 2 cores; this bounds a hung run.
WORKFLOW_TIMEOUT_S = 1800


def copy_workflow(destination: Path) -> Path:
    """Copy the workflow files into ``destination`` (created if missing)."""
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", ".snakemake")
    for name in WORKFLOW_PATHS:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=ignore, dirs_exist_ok=True
            )
        else:
            shutil.copy2(source, destination / name)
    return destination


def workflow_env() -> dict[str, str]:
    """Return the environment of a workflow run, with this venv first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_snakemake(
    workdir: Path, args: Sequence[str], timeout: float = WORKFLOW_TIMEOUT_S
) -> subprocess.CompletedProcess:
    """Run ``snakemake *args`` in ``workdir`` and return the finished process.

    Does not raise on a non-zero exit status; stdout and stderr are captured
    as text.
    """
    snakemake = Path(sys.executable).parent / "snakemake"
    return subprocess.run(
        [str(snakemake), *args],
        cwd=workdir,
        env=workflow_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_workflow(
    workdir: str | os.PathLike,
    configfile: str = TEST_CONFIG,
    extra_args: Sequence[str] = (),
    cores: int = 2,
) -> subprocess.CompletedProcess:
    """Run the whole workflow in ``workdir`` with ``configfile``.

    ``workdir`` must contain the files :func:`copy_workflow` copies.
    Raises ``RuntimeError`` with the end of Snakemake's output on a non-zero
    exit status.
    """
    workdir = Path(workdir)
    process = run_snakemake(
        workdir, ["--cores", str(cores), "--configfile", configfile, *extra_args]
    )
    if process.returncode != 0:
        raise RuntimeError(
            f"snakemake failed with exit status {process.returncode} in {workdir}. "
            f"End of its output:\n{process.stderr[-6000:]}"
        )
    return process


@pytest.fixture(scope="session")
def tiny_workflow(tmp_path_factory) -> Path:
    """Run the whole workflow once on config/test.yaml and return its directory.

    Tests that use it must not modify the directory, because later tests in
    the session share it.
    """
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny_workflow"))
    run_workflow(workdir)
    return workdir
