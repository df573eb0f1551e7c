"""A workflow killed with SIGKILL mid-training finishes when rerun, and resumes.

Starts the tiny workflow (angularity trainings lengthened to 30 epochs so that
one is caught mid-run), kills Snakemake's whole process group once a training
has checkpointed an epoch and logged the next, removes the stale lock with
--unlock and reruns the same command with --rerun-incomplete.
"""

from __future__ import annotations

import base64
import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest
import yaml

# Registers MomentPooling, so that saved models load.
import moment_pooling.layers  # noqa: F401
from conftest import copy_workflow, workflow_env
from moment_pooling.provenance import read_table

pytestmark = pytest.mark.slow

RESUME_EPOCHS = 30
KILL_TIMEOUT_S = 1200
EPOCH_LINE = re.compile(r"epoch (\d+)/(\d+):")


def init_git(workdir: Path) -> str:
    """Commit the copied workflow so that tables record a real git revision."""
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="test",
        GIT_AUTHOR_EMAIL="test@localhost",
        GIT_COMMITTER_NAME="test",
        GIT_COMMITTER_EMAIL="test@localhost",
    )
    for args in (
        ["init", "-q"],
        ["add", "Snakefile", "workflow", "config", "environment.yml"],
        ["commit", "-q", "-m", "workflow under test"],
    ):
        subprocess.run(["git", *args], cwd=workdir, env=env, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def snakemake_command(configfile: str) -> list[str]:
    snakemake = Path(sys.executable).with_name("snakemake")
    return [str(snakemake), "--cores", "2", "--configfile", configfile]


def training_in_progress(workdir: Path) -> Path | None:
    """Return the log of a training that has finished >= 2 epochs but not all."""
    for log in sorted((workdir / "logs").glob("train_*/*.log")):
        epochs = [int(m.group(1)) for m in EPOCH_LINE.finditer(log.read_text())]
        if epochs and 2 <= max(epochs) < RESUME_EPOCHS:
            return log
    return None


def incomplete_outputs(workdir: Path) -> set[str]:
    """Return the outputs that Snakemake marked incomplete (jobs that were running)."""
    marks = workdir / ".snakemake" / "incomplete"
    names = set()
    for mark in marks.rglob("*"):
        if mark.is_file():
            names.add(base64.urlsafe_b64decode(mark.name.encode()).decode())
    return names


def result_mtimes(workdir: Path) -> dict[str, int]:
    return {
        str(path.relative_to(workdir)): path.stat().st_mtime_ns
        for path in (workdir / "results").rglob("*")
        if path.is_file() and "checkpoints" not in path.parts
    }


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """Run the workflow, kill it mid-training and rerun it."""
    workdir = copy_workflow(tmp_path_factory.mktemp("resume"))
    config = yaml.safe_load((workdir / "config" / "test.yaml").read_text())
    config["angularity"]["epochs"] = RESUME_EPOCHS
    config["angularity"]["patience"] = None
    (workdir / "config" / "resume.yaml").write_text(yaml.safe_dump(config))
    revision = init_git(workdir)

    process = subprocess.Popen(
        snakemake_command("config/resume.yaml"),
        cwd=workdir,
        env=workflow_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    killed_log = None
    deadline = time.monotonic() + KILL_TIMEOUT_S
    try:
        while killed_log is None and process.poll() is None:
            assert time.monotonic() < deadline, "no training reached epoch 2 in time"
            time.sleep(0.2)
            killed_log = training_in_progress(workdir)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert killed_log is not None, "the workflow ended before a training was killed"
    killed_epochs = max(
        int(m.group(1)) for m in EPOCH_LINE.finditer(killed_log.read_text())
    )

    incomplete = incomplete_outputs(workdir)
    before = {
        name: mtime
        for name, mtime in result_mtimes(workdir).items()
        if name not in incomplete
    }

    # SIGKILL leaves Snakemake's lock on the working directory behind.
    unlock = subprocess.run(
        [*snakemake_command("config/resume.yaml"), "--unlock"],
        cwd=workdir,
        env=workflow_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    rerun = subprocess.run(
        [*snakemake_command("config/resume.yaml"), "--rerun-incomplete"],
        cwd=workdir,
        env=workflow_env(),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert rerun.returncode == 0, rerun.stderr[-6000:]
    return {
        "workdir": workdir,
        "revision": revision,
        "killed_log": killed_log,
        "killed_epochs": killed_epochs,
        "incomplete": incomplete,
        "before": before,
        "rerun": rerun,
    }


def test_resume_killed_job_was_incomplete(resumed):
    # The killed training's model is among the outputs Snakemake reran.
    run = resumed["killed_log"].stem
    rule = resumed["killed_log"].parent.name
    assert any(run in name for name in resumed["incomplete"]), (rule, run)


def test_resume_finished_jobs_not_redone(resumed):
    after = result_mtimes(resumed["workdir"])
    assert resumed["before"], "no job had finished before the kill"
    for name, mtime in resumed["before"].items():
        assert after.get(name) == mtime, f"{name} was rewritten by the rerun"


def test_resume_training_continues_from_checkpoint(resumed):
    log = resumed["killed_log"].read_text()
    found = re.findall(r"Resuming from the checkpoint after epoch (\d+)", log)
    assert found, f"{resumed['killed_log']} has no resume line"
    # Checkpoints are written after each epoch, so at least the epoch before
    # the last logged one was saved.
    assert int(found[-1]) >= resumed["killed_epochs"] - 1
    final = max(int(m.group(1)) for m in EPOCH_LINE.finditer(log))
    assert final == RESUME_EPOCHS


def test_resume_models_load(resumed):
    models = [
        path
        for path in (resumed["workdir"] / "results").rglob("*.keras")
        if not path.name.startswith(".") and "checkpoints" not in path.parts
    ]
    assert models
    for path in models:
        model = keras.saving.load_model(path)
        assert model.count_params() > 0, path


def test_resume_tables_parse(resumed):
    tables = [
        path
        for path in (resumed["workdir"] / "results").rglob("*.csv")
        if not path.name.startswith(".")
    ]
    assert tables
    for path in tables:
        with open(path, newline="") as handle:
            rows = list(csv.reader(line for line in handle if not line.startswith("#")))
        assert len(rows) >= 2, f"{path} has no data rows"
        assert all(len(row) == len(rows[0]) for row in rows), f"{path} is ragged"


def test_resume_tables_record_provenance(resumed):
    tables = sorted((resumed["workdir"] / "results" / "tables").glob("*.csv"))
    assert tables
    for path in tables:
        _, meta = read_table(path)
        assert meta["git_revision"].removesuffix("-dirty") == resumed["revision"]
        assert re.fullmatch(r"[0-9a-f]{16}", meta["config_hash"]), path
        assert meta["version.tensorflow"] not in ("", "not installed"), path
        assert meta["version.moment-pooling"] not in ("", "not installed"), path
