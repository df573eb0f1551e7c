"""Tabulate the Phi functions of one quark/gluon Moment-EFN on a (y, phi) grid."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

import os

from moment_pooling.logs import setup_rule_logging

logger = setup_rule_logging(snakemake.log[0], "tabulate_latent_phi")

# Evaluating Phi on a grid needs no GPU; hide them before Keras loads.
os.environ["CUDA_VISIBLE_DEVICES"] = ""

from moment_pooling.provenance import write_table  # noqa: E402
from moment_pooling.studies import evaluate_phi_on_grid, yphi_grid  # noqa: E402

grid = yphi_grid(snakemake.params.grid_radius, snakemake.params.grid_points)
values = evaluate_phi_on_grid(snakemake.input.model, grid)
latent_dim = int(snakemake.wildcards.latent_dim)
if values.shape[1] != latent_dim:
    raise ValueError(
        f"{snakemake.input.model} has {values.shape[1]} latent functions, expected "
        f"L={latent_dim}. Delete the model and rerun."
    )
columns = ["y", "phi"] + [f"Phi_{a}" for a in range(latent_dim)]
# Six significant digits keep the L = 128 tables near 10 MB and are far finer
# than the band widths plotted from them.
rows = (
    dict(zip(columns, (f"{value:.6g}" for value in (*point, *phi_values)), strict=True))
    for point, phi_values in zip(grid, values, strict=True)
)
write_table(snakemake.output[0], rows, columns, config=snakemake.config)
logger.info("Tabulated %d functions on %d grid points", latent_dim, len(grid))
