"""Collect the quark/gluon scan: one row per training, and per draw the mean and
standard deviation of the test AUC over seeds."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

import json

from moment_pooling.logs import setup_rule_logging
from moment_pooling.provenance import write_table
from moment_pooling.studies import aggregate_scan

logger = setup_rule_logging(snakemake.log[0], "tabulate_qg_scan")

draws = snakemake.params.draws
n_seeds = snakemake.params.n_seeds
# Inputs are ordered draw by draw, seed by seed, as the rule lists them.
run_keys = [(draw, seed) for draw in draws for seed in range(n_seeds)]
run_rows = []
aucs = {}
for (draw, seed), metrics_path in zip(run_keys, snakemake.input.metrics, strict=True):
    with open(metrics_path) as handle:
        metrics = json.load(handle)
    if metrics["n_params"] != draw["n_params"]:
        raise ValueError(
            f"{metrics_path} reports {metrics['n_params']} parameters but the draw "
            f"table expects {draw['n_params']}. Delete results/qg_scan and rerun."
        )
    key = (draw["scan"], draw["order"], draw["draw"])
    aucs.setdefault(key, []).append(metrics["auc"])
    run_rows.append(
        {
            **draw,
            "seed": seed,
            "auc": metrics["auc"],
            "test_loss": metrics["test_loss"],
            "epochs_run": metrics["epochs_run"],
            "seconds_per_epoch": metrics["seconds_per_epoch"],
        }
    )

summary = aggregate_scan(draws, aucs)
for row in summary:
    logger.info(
        "%s k=%d draw %d (L=%d, %d params): AUC %.4f +- %.4f",
        row["scan"],
        row["order"],
        row["draw"],
        row["latent_dim"],
        row["n_params"],
        row["auc_mean"],
        row["auc_std"],
    )
write_table(snakemake.output.runs, run_rows, list(run_rows[0]), config=snakemake.config)
write_table(snakemake.output.auc, summary, list(summary[0]), config=snakemake.config)
