"""The workflow on a real SLURM cluster through workflow/profiles/slurm.

Needs the one-node cluster of .ci/slurm-up.sh (node "localhost" on
127.0.0.1, one gres GPU backed by /dev/null). Runs the tiny config's data
rules and one angularity training as sbatch jobs, then checks the outputs and
the requests SLURM recorded for each job. Without an idle node the tests fail
when CI=true and skip otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import keras
import pytest

# Registers MomentPooling, so that saved models load.
import moment_pooling.layers  # noqa: F401

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SLURM_PROFILE = ROOT / "workflow" / "profiles" / "slurm"
TEST_CONFIG = ROOT / "config" / "test.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
NODE = "localhost"
TRAINING_DIR = "results/angularity/linear_k1"
TRAINING_LOG = "logs/train_angularity/linear_k1.log"


def node_state() -> str | None:
    """Return sinfo's state of the test node, or None when SLURM is absent."""
    if shutil.which("sinfo") is None:
        return None
    result = subprocess.run(
        ["sinfo", "-h", "-n", NODE, "-o", "%t"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return result.stdout.strip() or None


def slurm_job_ids(workdir: Path, rule: str) -> list[str]:
    """Return the SLURM job ids of ``rule``, from the plugin's per-job log names."""
    logs = (workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}").rglob("*.log")
    return sorted(path.stem for path in logs)


def scontrol_job(job_id: str) -> str:
    # slurmctld keeps a finished job for MinJobAge (300 s by default).
    result = subprocess.run(
        ["scontrol", "show", "job", "-o", job_id],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, f"scontrol show job {job_id}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def slurm_run(tmp_path_factory):
    """Run the data rules and one training through SLURM. Return workdir and output."""
    state = node_state()
    if state != "idle":
        message = (
            f"SLURM node {NODE!r} is not idle (sinfo state: {state}). "
            "Start the test cluster with .ci/slurm-up.sh (as root)."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)

    workdir = tmp_path_factory.mktemp("slurm")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(TEST_CONFIG),
            "--profile",
            str(SLURM_PROFILE),
            # Shorter polling than a real cluster needs: these jobs take seconds.
            "--slurm-init-seconds-before-status-checks",
            "2",
            "--seconds-between-status-checks",
            "3",
            f"{TRAINING_DIR}/metrics.json",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    return workdir, output


def test_slurm_run_submits_every_job(slurm_run):
    workdir, output = slurm_run
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", output)
    # 2 x shards_per_class generation jobs, merge, preprocess, one training.
    assert len(submitted) == 7, output[-3000:]
    for rule in ("generate_shard", "merge_shards", "preprocess_jets"):
        assert slurm_job_ids(workdir, rule), f"no SLURM log of rule {rule}"


def test_slurm_run_outputs(slurm_run):
    workdir, _ = slurm_run
    with h5py.File(workdir / "results/data/pythia/preprocessed.h5", "r") as store:
        n_jets = store["labels"].shape[0]
        assert n_jets > 0
        assert store["z"].shape[0] == n_jets
        assert store["yphi"].shape[:2] == store["z"].shape
    metrics = json.loads((workdir / TRAINING_DIR / "metrics.json").read_text())
    assert metrics["task"] == "regression"
    assert metrics["epochs_run"] >= 1
    model = keras.saving.load_model(workdir / TRAINING_DIR / "model.keras")
    assert model.count_params() == metrics["n_params"]


def test_slurm_training_requests_gpu(slurm_run):
    workdir, _ = slurm_run
    job_ids = slurm_job_ids(workdir, "train_angularity")
    assert len(job_ids) == 1
    record = scontrol_job(job_ids[0])
    # sbatch --gpus=1 shows up as TresPerJob=gres:gpu:1 (Slurm 22.05).
    assert re.search(r"TresPerJob=\S*gpu\S*1", record), record
    # The job saw the GPU SLURM allocated, and visible_gpu left it alone.
    log = (workdir / TRAINING_LOG).read_text()
    assert f"SLURM job {job_ids[0]}" in log
    assert "CUDA_VISIBLE_DEVICES=0" in log


def test_slurm_generation_requests_no_gpu(slurm_run):
    workdir, _ = slurm_run
    job_ids = slurm_job_ids(workdir, "generate_shard")
    assert job_ids
    for job_id in job_ids:
        record = scontrol_job(job_id)
        assert "gpu" not in record.lower(), record
        assert "NumCPUs=1" in record, record
