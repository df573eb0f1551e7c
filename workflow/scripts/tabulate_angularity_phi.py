"""Tabulate Phi of the linear k = 2 angularity networks on a (y, phi) grid and fit
each Phi^a to a + b y + c phi."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

import os

from moment_pooling.logs import setup_rule_logging

logger = setup_rule_logging(snakemake.log[0], "tabulate_angularity_phi")

# Evaluating a small network on a grid needs no GPU; hide them before Keras loads.
os.environ["CUDA_VISIBLE_DEVICES"] = ""

from moment_pooling.provenance import write_table  # noqa: E402
from moment_pooling.studies import evaluate_phi_on_grid, fit_plane, yphi_grid  # noqa: E402

grid = yphi_grid(snakemake.params.grid_radius, snakemake.params.grid_points)
grid_rows, fit_rows = [], []
for run, model_path in zip(snakemake.params.runs, snakemake.input.models, strict=True):
    values = evaluate_phi_on_grid(model_path, grid)
    for point, phi_values in zip(grid, values, strict=True):
        row = {"network": run["network"], "y": point[0], "phi": point[1]}
        row.update({f"Phi_{a}": value for a, value in enumerate(phi_values)})
        grid_rows.append(row)
    for component, fit in enumerate(fit_plane(grid[:, 0], grid[:, 1], values)):
        fit_rows.append(dict(fit, network=run["network"], component=component))
        logger.info(
            "%s Phi^%d ~ %.4f %+.4f y %+.4f phi (R^2 %.5f)",
            run["network"],
            component + 1,
            fit["a"],
            fit["b"],
            fit["c"],
            fit["r2"],
        )

write_table(
    snakemake.output.grid, grid_rows, list(grid_rows[0]), config=snakemake.config
)
write_table(
    snakemake.output.fit,
    fit_rows,
    ["network", "component", "a", "b", "c", "r2"],
    config=snakemake.config,
)
