"""Config validation: the shipped configs pass, bad ones stop Snakemake at once.

Every bad config is config/test.yaml with one change, run in an empty
working directory so that config/config.yaml is not merged in.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
CONFIGS = ("config/config.yaml", "config/test.yaml", "config/paper.yaml")
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def snakemake(
    workdir: Path, configfile: Path, *args: str
) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(ROOT / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(configfile),
            *args,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def setter(path: str, value) -> Callable[[dict], None]:
    """Return a function that sets the dotted config key ``path`` to ``value``."""
    *parents, last = path.split(".")

    def apply(config: dict) -> None:
        node = config
        for part in parents:
            node = node[part]
        node[last] = value

    return apply


def deleter(path: str) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def apply(config: dict) -> None:
        node = config
        for part in parents:
            node = node[part]
        del node[last]

    return apply


def add_latent_max_entry(config: dict) -> None:
    config["qg_scan"]["latent_max"] = [*config["qg_scan"]["latent_max"], 1]


def download_too_few_jets(config: dict) -> None:
    """Download one jet fewer than the angularity split needs."""
    split = config["angularity"]
    config["data"]["source"] = "energyflow"
    config["data"]["energyflow"]["num_jets"] = (
        split["n_train"] + split["n_val"] + split["n_test"] - 1
    )


# (case id, change to config/test.yaml, substrings the error must contain)
BAD_CONFIGS = [
    (
        "unknown_top_level_key",
        setter("trainig", {"batch_size": 64}),
        ["trainig: unknown key", "Allowed keys: analytic, angularity, data"],
    ),
    (
        "unknown_nested_key",
        setter("angularity.n_epochs", 5),
        ["angularity.n_epochs: unknown key", "epochs", "n_train"],
    ),
    (
        "order_zero",
        setter("qg_scan.orders", [0, 1, 2, 3]),
        ["qg_scan.orders[0]: 0 is less than the minimum of 1", "moment order k"],
    ),
    (
        "latent_dim_zero",
        setter("latent.models", [[1, 0]]),
        ["latent.models[0][1]: 0 is less than the minimum of 1", "latent dimension L"],
    ),
    (
        "negative_width",
        setter("latent.Phi_width", -4),
        ["latent.Phi_width: -4 is less than the minimum of 1"],
    ),
    (
        "negative_hidden_size",
        setter("analytic.hidden_sizes", [8, -1]),
        ["analytic.hidden_sizes[1]: -1 is less than the minimum of 1"],
    ),
    (
        "zero_epochs",
        setter("angularity.epochs", 0),
        ["angularity.epochs: 0 is less than the minimum of 1"],
    ),
    (
        "zero_learning_rate",
        setter("training.learning_rate", 0.0),
        ["training.learning_rate: 0.0 is less than or equal to the minimum of 0"],
    ),
    (
        "nan_learning_rate",
        setter("training.learning_rate", float("nan")),
        [
            "training.learning_rate: nan is not a finite number",
            "Expected Adam learning rate, > 0",
        ],
    ),
    (
        "infinite_learning_rate",
        setter("training.learning_rate", float("inf")),
        ["training.learning_rate: inf is not a finite number"],
    ),
    (
        "nan_pthat_max",
        setter("data.pythia.pthat_max", float("nan")),
        ["data.pythia.pthat_max: nan is not a finite number", "above pthat_min"],
    ),
    (
        "infinite_timeout",
        setter("data.energyflow.timeout_s", float("inf")),
        ["data.energyflow.timeout_s: inf is not a finite number", "seconds"],
    ),
    (
        "string_batch_size",
        setter("training.batch_size", "64"),
        ["training.batch_size: '64' is not of type 'integer'"],
    ),
    (
        "string_linear_F_scan",
        setter("qg_scan.linear_F_scan", "yes"),
        ["qg_scan.linear_F_scan: 'yes' is not of type 'boolean'"],
    ),
    (
        "bad_source",
        setter("data.source", "herwig"),
        ["data.source: 'herwig' is not one of ['pythia', 'energyflow']"],
    ),
    (
        "bad_network",
        setter("angularity.networks", ["linear", "huge"]),
        ["angularity.networks[1]: 'huge' is not one of ['linear', 'small', 'large']"],
    ),
    (
        "duplicate_orders",
        setter("angularity.orders", [1, 1]),
        ["angularity.orders: [1, 1] has non-unique elements"],
    ),
    (
        "missing_key",
        deleter("analytic.n_moments"),
        ["analytic.n_moments: missing required key"],
    ),
    (
        "latent_max_length",
        add_latent_max_entry,
        ["qg_scan.latent_max=", "needs one entry per order in qg_scan.orders"],
    ),
    (
        "too_many_moments",
        setter("latent.models", [[6, 200]]),
        ["latent.models[0]: L = 200 at k = 6 gives", "above the limit", "Lower L or k"],
    ),
    (
        "pthat_window_inverted",
        setter("data.pythia.pthat_min", 700.0),
        ["data.pythia.pthat_min=700.0 must be below data.pythia.pthat_max"],
    ),
    (
        "split_exceeds_generated_jets",
        setter("qg_scan.n_train", 100000),
        [
            "qg_scan.n_train + n_val + n_test",
            "data.pythia.shards_per_class x data.pythia.jets_per_shard",
            "Reduce the qg_scan split",
        ],
    ),
    (
        "split_exceeds_downloaded_jets",
        download_too_few_jets,
        ["angularity.n_train + n_val + n_test", "data.energyflow.num_jets"],
    ),
]


@pytest.mark.parametrize("name", CONFIGS)
def test_config_file_matches_schema(name):
    validator = jsonschema.Draft202012Validator(load_yaml(SCHEMA))
    errors = [
        f"{list(error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(load_yaml(ROOT / name))
    ]
    assert errors == []


def test_config_schema_is_valid():
    jsonschema.Draft202012Validator.check_schema(load_yaml(SCHEMA))


def test_config_schema_rejects_unknown_keys_everywhere():
    """Every object in the schema sets additionalProperties: false."""

    def objects(node, path="(root)"):
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield path, node
            for key, child in node.items():
                yield from objects(child, f"{path}.{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                yield from objects(child, f"{path}[{index}]")

    found = list(objects(load_yaml(SCHEMA)))
    assert len(found) >= 9
    for path, node in found:
        assert node.get("additionalProperties") is False, path
        assert set(node.get("required", [])) == set(node["properties"]), path


@pytest.mark.parametrize("name", CONFIGS)
def test_config_file_dry_run(name, tmp_path):
    result = snakemake(tmp_path, ROOT / name, "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Invalid config" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [pytest.param(change, expected, id=case) for case, change, expected in BAD_CONFIGS],
)
def test_config_invalid_fails_dry_run(change, expected, tmp_path):
    config = copy.deepcopy(load_yaml(ROOT / "config" / "test.yaml"))
    change(config)
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(config))
    workdir = tmp_path / "run"
    workdir.mkdir()

    result = snakemake(workdir, configfile, "--dry-run")
    output = result.stdout + result.stderr

    assert result.returncode != 0
    assert "Invalid config" in output
    for text in expected:
        assert text in output
    assert "Fix these keys in the config file" in output
    # Validation ran before Snakemake planned any job.
    assert "Building DAG of jobs" not in output
    assert not (workdir / "results").exists()


def test_config_invalid_runs_no_job(tmp_path):
    config = copy.deepcopy(load_yaml(ROOT / "config" / "test.yaml"))
    config["angularity"]["n_train"] = 10**6
    configfile = tmp_path / "bad.yaml"
    configfile.write_text(yaml.safe_dump(config))
    workdir = tmp_path / "run"
    workdir.mkdir()

    result = snakemake(workdir, configfile, "--cores", "1")

    assert result.returncode != 0
    assert "angularity.n_train + n_val + n_test" in result.stdout + result.stderr
    assert not (workdir / "results").exists()
    assert not (workdir / "logs").exists()


def test_config_omitted_section_takes_config_yaml(tmp_path):
    """config/README.md: omitted keys take config.yaml's values unless replaced."""
    config = copy.deepcopy(load_yaml(ROOT / "config" / "test.yaml"))
    del config["analytic"]
    configfile = tmp_path / "partial.yaml"
    configfile.write_text(yaml.safe_dump(config))
    workdir = tmp_path / "run"
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "config.yaml").write_text(
        (ROOT / "config" / "config.yaml").read_text()
    )

    merged = snakemake(workdir, configfile, "--dry-run")
    replaced = snakemake(workdir, configfile, "--dry-run", "--replace-workflow-config")

    assert merged.returncode == 0, merged.stderr[-3000:]
    assert replaced.returncode != 0
    assert "analytic: missing required key" in replaced.stdout + replaced.stderr
