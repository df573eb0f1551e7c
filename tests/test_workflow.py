"""End-to-end checks of the workflow run on config/test.yaml (fixture tiny_workflow)."""

import csv
import json
import math
import os

import pytest
import yaml

from conftest import TEST_CONFIG, run_snakemake
from moment_pooling.provenance import read_table

pytestmark = pytest.mark.slow

FIGURES = [
    "angularity_val_loss",
    "angularity_epoch_time",
    "angularity_phi",
    "qg_scan_auc_vs_n_params",
    "qg_scan_auc_vs_latent_dim",
    "qg_scan_auc_vs_L_eff",
    "latent_bands_models",
    "latent_bands_L1",
    "latent_radial",
    "analytic_roc",
]
TABLES = [
    "angularity_history",
    "angularity_summary",
    "angularity_phi_grid",
    "angularity_phi_fit",
    "qg_scan_draws",
    "qg_scan_runs",
    "qg_scan_auc",
    "latent_models",
    "latent_radial_fit",
    "analytic_auc",
    "analytic_roc",
]
METRICS_KEYS = {
    "task",
    "n_params",
    "epochs_run",
    "best_epoch",
    "seconds_per_epoch",
    "test_loss",
    "n_test",
}


@pytest.fixture(scope="module")
def config(tiny_workflow):
    return yaml.safe_load((tiny_workflow / TEST_CONFIG).read_text())


def table(workdir, name):
    rows, meta = read_table(workdir / "results" / "tables" / f"{name}.csv")
    return rows, meta


def floats(rows, name):
    return [float(row[name]) for row in rows]


def test_workflow_writes_every_figure(tiny_workflow):
    for name in FIGURES:
        pdf = tiny_workflow / "results" / "figures" / f"{name}.pdf"
        png = tiny_workflow / "results" / "figures" / f"{name}.png"
        assert pdf.read_bytes().startswith(b"%PDF"), pdf
        assert png.read_bytes().startswith(b"\x89PNG"), png


def test_workflow_tables_record_provenance(tiny_workflow):
    for name in TABLES:
        rows, meta = table(tiny_workflow, name)
        assert rows, name
        assert meta["version.tensorflow"], name
        assert "config_hash" in meta, name


def test_workflow_angularity_summary(tiny_workflow, config):
    study = config["angularity"]
    rows, _ = table(tiny_workflow, "angularity_summary")
    expected = {(n, k) for n in study["networks"] for k in study["orders"]}
    expected.add(("linear_l1", 2))
    assert {(row["network"], int(row["order"])) for row in rows} == expected
    for mse in floats(rows, "test_mse"):
        assert math.isfinite(mse)
        assert mse > 0
    for seconds in floats(rows, "seconds_per_epoch"):
        assert seconds > 0
    for seconds in floats(rows, "job_seconds"):
        assert seconds > 0


def test_workflow_angularity_history_matches_epochs(tiny_workflow, config):
    summary, _ = table(tiny_workflow, "angularity_summary")
    history, _ = table(tiny_workflow, "angularity_history")
    for run in summary:
        epochs = [
            int(row["epoch"])
            for row in history
            if row["network"] == run["network"] and row["order"] == run["order"]
        ]
        assert epochs == list(range(1, int(run["epochs_run"]) + 1))
        assert int(run["epochs_run"]) <= config["angularity"]["epochs"]
    for loss in floats(history, "val_loss"):
        assert math.isfinite(loss)
        assert loss > 0


def test_workflow_angularity_phi_fit(tiny_workflow, config):
    rows, _ = table(tiny_workflow, "angularity_phi_fit")
    networks = {row["network"] for row in rows}
    assert networks == {"linear_l1", "linear"}
    assert len(rows) == 2 * len(networks)
    for r2 in floats(rows, "r2"):
        # Phi of a linear network is exactly affine in (y, phi).
        assert r2 == pytest.approx(1.0, abs=1e-4)
    grid, _ = table(tiny_workflow, "angularity_phi_grid")
    assert len(grid) == len(networks) * config["angularity"]["grid_points"] ** 2


def test_workflow_qg_scan_tables(tiny_workflow, config):
    scan = config["qg_scan"]
    n_scans = 2 if scan["linear_F_scan"] else 1
    n_draws = n_scans * len(scan["orders"]) * scan["n_draws"]
    draws, _ = table(tiny_workflow, "qg_scan_draws")
    runs, _ = table(tiny_workflow, "qg_scan_runs")
    summary, _ = table(tiny_workflow, "qg_scan_auc")
    assert len(draws) == n_draws
    assert len(runs) == n_draws * scan["n_seeds"]
    assert len(summary) == n_draws
    for row in summary:
        assert 0.5 <= float(row["auc_mean"]) <= 1.0, row
        assert float(row["auc_std"]) >= 0
        assert int(row["n_seeds"]) == scan["n_seeds"]
        assert int(row["L_eff"]) == math.comb(
            int(row["latent_dim"]) + int(row["order"]), int(row["order"])
        )


def test_workflow_scan_outputs_match_draws(tiny_workflow, config):
    draws, _ = table(tiny_workflow, "qg_scan_draws")
    for draw in draws:
        for seed in range(config["qg_scan"]["n_seeds"]):
            run_dir = (
                tiny_workflow
                / "results"
                / "qg_scan"
                / draw["scan"]
                / f"k{draw['order']}_d{draw['draw']}_s{seed}"
            )
            metrics = json.loads((run_dir / "metrics.json").read_text())
            assert METRICS_KEYS | {"auc", "roc_fpr", "roc_tpr"} <= set(metrics)
            assert metrics["n_params"] == int(draw["n_params"])
            assert len(metrics["roc_fpr"]) == len(metrics["roc_tpr"])
            history, _ = read_table(run_dir / "history.csv")
            assert len(history) == metrics["epochs_run"]
            assert (run_dir / "model.keras").stat().st_size > 0


def test_workflow_latent_models_prefer_scan(tiny_workflow, config):
    rows, _ = table(tiny_workflow, "latent_models")
    draws, _ = table(tiny_workflow, "qg_scan_draws")
    latent = config["latent"]
    in_scan = {
        (int(d["order"]), int(d["latent_dim"]))
        for d in draws
        if d["scan"] == "full"
        and int(d["Phi_width"]) >= latent["Phi_width"]
        and int(d["F_width"]) >= latent["F_width"]
    }
    requested = {tuple(pair) for pair in latent["models"]}
    requested |= {(order, 1) for order in latent["L1_orders"]}
    assert {(int(r["order"]), int(r["latent_dim"])) for r in rows} == requested
    for row in rows:
        key = (int(row["order"]), int(row["latent_dim"]))
        assert row["source"] == ("qg_scan" if key in in_scan else "latent")
        assert 0.5 <= float(row["auc_mean"]) <= 1.0, row


def test_workflow_latent_grids_cover_models(tiny_workflow, config):
    latent = config["latent"]
    for order, latent_dim in latent["models"]:
        rows, _ = table(tiny_workflow, f"latent_phi_k{order}_L{latent_dim}")
        assert len(rows) == latent["grid_points"] ** 2
        assert f"Phi_{latent_dim - 1}" in rows[0]
        assert f"Phi_{latent_dim}" not in rows[0]
    fits, _ = table(tiny_workflow, "latent_radial_fit")
    assert sorted(int(row["order"]) for row in fits) == sorted(latent["L1_orders"])
    for row in fits:
        assert 0.0 <= float(row["r2"]) <= 1.0
        assert math.isfinite(float(row["b"]))


def test_workflow_analytic_tables(tiny_workflow, config):
    rows, _ = table(tiny_workflow, "analytic_auc")
    assert [row["classifier"] for row in rows] == [
        "moments",
        "angularities",
        "moment_efn",
    ]
    for row in rows:
        assert 0.5 <= float(row["auc_mean"]) <= 1.0, row
        assert int(row["n_test"]) == config["qg_scan"]["n_test"]
    roc, _ = table(tiny_workflow, "analytic_roc")
    for name in ("moments", "angularities", "moment_efn"):
        curve = [row for row in roc if row["classifier"] == name]
        fpr = floats(curve, "fpr")
        tpr = floats(curve, "tpr")
        assert fpr[0] == 0.0
        assert tpr[-1] == 1.0
        assert fpr == sorted(fpr)
        assert tpr == sorted(tpr)


def test_workflow_analytic_history_matches_epochs(tiny_workflow, config):
    study = config["analytic"]
    for features in ("moments", "angularities"):
        for seed in range(study["n_seeds"]):
            run_dir = tiny_workflow / "results" / "analytic" / f"{features}_s{seed}"
            metrics = json.loads((run_dir / "metrics.json").read_text())
            assert METRICS_KEYS | {"auc", "roc_fpr", "roc_tpr"} <= set(metrics)
            history, _ = read_table(run_dir / "history.csv")
            assert len(history) == metrics["epochs_run"] <= study["epochs"]


def test_workflow_training_benchmarks(tiny_workflow):
    benchmarks = sorted((tiny_workflow / "results" / "benchmarks").rglob("*.tsv"))
    rules = {
        path.relative_to(tiny_workflow / "results" / "benchmarks").parts[0]
        for path in benchmarks
    }
    assert rules == {
        "train_angularity",
        "train_qg_scan",
        "train_latent",
        "train_analytic",
    }
    for path in benchmarks:
        with open(path, newline="") as handle:
            assert float(next(csv.DictReader(handle, delimiter="\t"))["s"]) > 0


def test_workflow_every_rule_logged(tiny_workflow):
    logs = {path.parent.name for path in (tiny_workflow / "logs").rglob("*.log")}
    logs |= {path.parts[-3] for path in (tiny_workflow / "logs").rglob("*/*/*.log")}
    for rule in (
        "train_angularity",
        "train_qg_scan",
        "train_latent",
        "train_analytic",
        "tabulate_latent_phi",
        "plot_qg_scan",
        "plot_analytic_roc",
    ):
        assert rule in logs


def test_workflow_training_uses_onednn_setting(tiny_workflow):
    # The Snakefile sets TF_ENABLE_ONEDNN_OPTS=1 unless the caller set it.
    expected = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1")
    logs = sorted((tiny_workflow / "logs" / "train_angularity").glob("*.log"))
    assert logs
    for path in logs:
        assert f"TF_ENABLE_ONEDNN_OPTS={expected})" in path.read_text()


def test_workflow_is_complete(tiny_workflow):
    process = run_snakemake(
        tiny_workflow, ["--dry-run", "--configfile", TEST_CONFIG], timeout=300
    )
    assert process.returncode == 0, process.stderr[-3000:]
    assert "Nothing to be done" in process.stdout + process.stderr


def test_workflow_lint_reports_nothing(tiny_workflow):
    process = run_snakemake(
        tiny_workflow, ["--lint", "--configfile", TEST_CONFIG], timeout=300
    )
    output = process.stdout + process.stderr
    assert "Lints for" not in output, output[-5000:]
    assert process.returncode == 0, output[-3000:]


def test_workflow_report_builds_html(tiny_workflow, tmp_path):
    report = tmp_path / "report.html"
    process = run_snakemake(
        tiny_workflow,
        ["--report", str(report), "--configfile", TEST_CONFIG],
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    # docutils reports caption markup errors as "(ERROR/3)" without failing.
    assert "(ERROR/" not in process.stderr, process.stderr[-3000:]
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>") or "<html" in html[:2000]
    for name in FIGURES:
        assert f"{name}.png" in html, name
