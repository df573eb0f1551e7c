"""Summarise the latent-study models (test AUC over seeds) and fit the L = 1
functions to a + b log r."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

import json

import numpy as np

from moment_pooling.logs import setup_rule_logging
from moment_pooling.plotting import column
from moment_pooling.provenance import read_table, write_table
from moment_pooling.studies import effective_latent_dim, fit_log_radial, summarise_seeds

logger = setup_rule_logging(snakemake.log[0], "tabulate_latent")

# Metrics inputs are ordered model by model, seed by seed, as the rule lists them.
metrics_paths = iter(snakemake.input.metrics)
model_rows = []
for model in snakemake.params.models:
    aucs = []
    for _ in model["run_dirs"]:
        with open(next(metrics_paths)) as handle:
            aucs.append(json.load(handle)["auc"])
    mean, std = summarise_seeds(aucs)
    model_rows.append(
        {
            "order": model["order"],
            "latent_dim": model["latent_dim"],
            "L_eff": effective_latent_dim(model["latent_dim"], model["order"]),
            "source": model["source"],
            "draw": model.get("draw", ""),
            "auc_mean": mean,
            "auc_std": std,
            "n_seeds": len(aucs),
            "plotted_model": model["plotted_model"],
        }
    )
    logger.info(
        "k=%d L=%d (%s): AUC %.4f +- %.4f over %d seeds",
        model["order"],
        model["latent_dim"],
        model["source"],
        mean,
        std,
        len(aucs),
    )

radius = snakemake.params.grid_radius
fit_rows = []
for order, grid_path in zip(
    snakemake.params.L1_orders, snakemake.input.L1_grids, strict=True
):
    rows, _ = read_table(grid_path)
    r = np.hypot(column(rows, "y"), column(rows, "phi"))
    values = column(rows, "Phi_0")
    # Fit inside the jet radius only, where jets have particles; r = 0 has no log.
    inside = (r > 0) & (r <= radius)
    fit = fit_log_radial(r[inside], values[inside])[0]
    fit_rows.append(dict(order=order, **fit, n_points=int(inside.sum())))
    logger.info(
        "k=%d, L=1: Phi ~ %.4f %+.4f log r (R^2 %.4f)",
        order,
        fit["a"],
        fit["b"],
        fit["r2"],
    )

write_table(
    snakemake.output.models, model_rows, list(model_rows[0]), config=snakemake.config
)
write_table(
    snakemake.output.radial_fit,
    fit_rows,
    ["order", "a", "b", "r2", "n_points"],
    config=snakemake.config,
)
