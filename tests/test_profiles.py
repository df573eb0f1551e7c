"""Snakemake profiles: settings, and the resources a dry run plans with them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PROFILE = ROOT / "workflow" / "profiles" / "default"
SLURM_PROFILE = ROOT / "workflow" / "profiles" / "slurm"
TEST_CONFIG = ROOT / "config" / "test.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def load_profile(profile: Path) -> dict:
    return yaml.safe_load((profile / "config.yaml").read_text())


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run Snakemake on the repository's Snakefile in ``workdir`` with test.yaml."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(TEST_CONFIG),
            *args,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def planned_jobs(output: str) -> list[tuple[str, dict[str, str]]]:
    """Parse a dry run's job blocks into (rule, resources) pairs."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", output):
        match = re.match(r"(?:local)?rule (\w+):\n", block)
        if match is None:
            continue
        resources = {}
        found = re.search(r"^\s+resources: (.*)$", block, flags=re.MULTILINE)
        if found:
            for item in found.group(1).split(", "):
                name, _, value = item.partition("=")
                resources[name] = value
        jobs.append((match.group(1), resources))
    return jobs


@pytest.fixture(scope="module")
def test_config() -> dict:
    return yaml.safe_load(TEST_CONFIG.read_text())


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory) -> set[str]:
    result = snakemake(tmp_path_factory.mktemp("rules"), "--list-rules")
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.fixture(scope="module")
def slurm_plan(tmp_path_factory) -> list[tuple[str, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("slurm_plan")
    result = snakemake(workdir, "--dry-run", "--profile", str(SLURM_PROFILE))
    assert result.returncode == 0, result.stderr
    return planned_jobs(result.stdout)


def test_profile_default_settings():
    profile = load_profile(DEFAULT_PROFILE)
    assert profile["cores"] == "all"
    assert profile["printshellcmds"] is True
    assert profile["rerun-incomplete"] is True
    assert profile["keep-going"] is False
    assert profile["latency-wait"] >= 1
    assert "executor" not in profile


def test_profile_slurm_settings():
    profile = load_profile(SLURM_PROFILE)
    assert profile["executor"] == "slurm"
    # sacct fails on clusters without slurmdbd and Snakemake then waits forever.
    assert profile["slurm-status-command"] == "squeue"
    assert profile["jobs"] >= 1
    assert profile["rerun-incomplete"] is True
    assert profile["latency-wait"] >= 30
    # cpus_per_task as a default would override each rule's threads.
    assert "cpus_per_task" not in profile["default-resources"]


def test_profile_slurm_rules_exist(workflow_rules):
    profile = load_profile(SLURM_PROFILE)
    unknown = set(profile["set-resources"]) - workflow_rules
    assert not unknown, f"set-resources names rules the workflow lacks: {unknown}"


def test_profile_slurm_gpu_for_every_training(workflow_rules):
    profile = load_profile(SLURM_PROFILE)
    training_rules = {rule for rule in workflow_rules if rule.startswith("train_")}
    assert training_rules, "the workflow has no train_* rules"
    for rule in sorted(training_rules):
        assert profile["set-resources"].get(rule, {}).get("gpu") == 1, rule
    gpu_rules = {
        rule
        for rule, resources in profile["set-resources"].items()
        if resources.get("gpu")
    }
    assert gpu_rules == training_rules


def test_profile_slurm_plans_training_gpu(slurm_plan, test_config):
    training = [res for rule, res in slurm_plan if rule == "train_angularity"]
    assert training
    for resources in training:
        assert resources["gpu"] == "1"
        assert resources["runtime"] == str(test_config["training"]["runtime_min"])
        assert resources["mem_mb"] == str(test_config["training"]["mem_mb"])


def test_profile_slurm_plans_every_training_gpu(slurm_plan):
    rules = {rule for rule, _ in slurm_plan if rule.startswith("train_")}
    assert rules >= {"train_angularity", "train_qg_scan"}
    for rule, resources in slurm_plan:
        if rule.startswith("train_"):
            assert resources.get("gpu") == "1", rule


def test_profile_slurm_plans_generation_cpu_only(slurm_plan):
    generation = [res for rule, res in slurm_plan if rule == "generate_shard"]
    assert generation
    for resources in generation:
        assert "gpu" not in resources
        assert int(resources["runtime"]) >= 1
        assert int(resources["mem_mb"]) >= 1


def test_profile_slurm_plans_plot_defaults(slurm_plan):
    profile = load_profile(SLURM_PROFILE)
    plots = [res for rule, res in slurm_plan if rule.startswith("plot_")]
    assert plots
    for resources in plots:
        assert "gpu" not in resources
        assert resources["runtime"] == str(profile["default-resources"]["runtime"])
        assert resources["mem_mb"] == str(profile["default-resources"]["mem_mb"])


def test_profile_default_gpu_resource_bounds_training(tmp_path):
    result = snakemake(
        tmp_path,
        "--dry-run",
        "--profile",
        str(DEFAULT_PROFILE),
        "--resources",
        "gpu=2",
    )
    assert result.returncode == 0, result.stderr
    jobs = planned_jobs(result.stdout)
    training = [res for rule, res in jobs if rule.startswith("train_")]
    assert training
    for resources in training:
        assert resources["gpu"] == "1"
    others = [res for rule, res in jobs if not rule.startswith("train_")]
    for resources in others:
        assert "gpu" not in resources
