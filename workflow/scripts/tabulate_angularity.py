"""Collect the angularity trainings into a loss-curve table and a summary table."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

import csv
import json

from moment_pooling.logs import setup_rule_logging
from moment_pooling.provenance import read_table, write_table

logger = setup_rule_logging(snakemake.log[0], "tabulate_angularity")

history_rows, summary_rows = [], []
for run, history_path, metrics_path, benchmark_path in zip(
    snakemake.params.runs,
    snakemake.input.histories,
    snakemake.input.metrics,
    snakemake.input.benchmarks,
    strict=True,
):
    history, _ = read_table(history_path)
    for row in history:
        history_rows.append(
            {
                "network": run["network"],
                "order": run["order"],
                "epoch": int(row["epoch"]),
                "loss": float(row["loss"]),
                "val_loss": float(row["val_loss"]),
                "seconds": float(row["seconds"]),
            }
        )
    with open(metrics_path) as handle:
        metrics = json.load(handle)
    # Snakemake benchmark files are tab-separated with the job's wall time in `s`.
    with open(benchmark_path, newline="") as handle:
        job_seconds = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
    summary_rows.append(
        {
            "network": run["network"],
            "order": run["order"],
            "n_params": metrics["n_params"],
            "epochs_run": metrics["epochs_run"],
            "best_epoch": metrics["best_epoch"],
            "seconds_per_epoch": metrics["seconds_per_epoch"],
            "job_seconds": job_seconds,
            "test_mse": metrics["mse"],
        }
    )
    logger.info("%s k=%d: test MSE %.4g", run["network"], run["order"], metrics["mse"])

write_table(
    snakemake.output.history,
    history_rows,
    ["network", "order", "epoch", "loss", "val_loss", "seconds"],
    config=snakemake.config,
)
write_table(
    snakemake.output.summary,
    summary_rows,
    list(summary_rows[0]),
    config=snakemake.config,
)
