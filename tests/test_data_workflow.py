"""Run the data rules with real Snakemake on the tiny config in a workflow copy."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from moment_pooling.data import load_splits
from moment_pooling.data.store import read_attrs, read_jets

REPO = Path(__file__).resolve().parents[1]


def copy_workflow(destination: Path) -> Path:
    for name in ("Snakefile", "environment.yml"):
        shutil.copy(REPO / name, destination / name)
    for name in ("workflow", "config"):
        shutil.copytree(
            REPO / name,
            destination / name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    return destination


def run_snakemake(workdir: Path, *targets: str) -> subprocess.CompletedProcess:
    # Targets go first because --configfile takes every value that follows it.
    command = [sys.executable, "-m", "snakemake", *targets, "--cores", "2"]
    return subprocess.run(
        [*command, "--configfile", "config/test.yaml"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_data_rules_generate_merge_preprocess(tmp_path):
    workdir = copy_workflow(tmp_path)
    result = run_snakemake(workdir, "results/data/pythia/preprocessed.h5")
    assert result.returncode == 0, result.stderr[-3000:]

    config = yaml.safe_load((workdir / "config" / "test.yaml").read_text())["data"]
    per_class = (
        config["pythia"]["shards_per_class"] * config["pythia"]["jets_per_shard"]
    )
    summary = json.loads(
        (workdir / "results/data/pythia/jets_summary.json").read_text()
    )
    assert summary["quark"]["count"] == per_class
    assert summary["gluon"]["count"] == per_class
    assert summary["gluon"]["multiplicity_mean"] > summary["quark"]["multiplicity_mean"]

    jets = read_jets(workdir / "results/data/pythia/jets.h5")
    assert jets.n_jets == 2 * per_class
    attrs = read_attrs(workdir / "results/data/pythia/jets.h5")
    seeds = {shard["pythia_seed"] for shard in attrs["shards"].values()}
    assert len(seeds) == 2 * config["pythia"]["shards_per_class"]
    assert "pythia8mc" in attrs["versions"]

    log = (workdir / "logs/generate_shard/quark_0.log").read_text()
    assert "jets kept from" in log
    assert "jets/s" in log

    splits = load_splits(workdir / "results/data/pythia/preprocessed.h5", 400, 100, 100)
    assert 0.3 < splits["test"].labels.mean() < 0.7


@pytest.mark.slow
def test_data_rules_download_offline_fails(tmp_path):
    workdir = copy_workflow(tmp_path)
    result = run_snakemake(workdir, "results/data/energyflow/jets.h5")
    assert result.returncode != 0
    log = (workdir / "logs/download_energyflow/energyflow.log").read_text()
    assert "set `data: source: pythia` in the config" in log
    assert not (workdir / "results/data/energyflow/jets.h5").exists()
    assert not list((workdir / "resources").rglob("*.npz"))
