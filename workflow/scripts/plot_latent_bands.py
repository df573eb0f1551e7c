"""Draw the 45-55% bands of every Phi^a, one panel per (k, L) model."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging
from moment_pooling.plotting import plot_latent_bands
from moment_pooling.provenance import read_table

setup_rule_logging(snakemake.log[0], "plot_latent_bands")

summaries, _ = read_table(snakemake.input.models)
models = []
for (order, latent_dim), grid_path in zip(
    snakemake.params.requests, snakemake.input.grids, strict=True
):
    summary = next(
        row
        for row in summaries
        if int(row["order"]) == order and int(row["latent_dim"]) == latent_dim
    )
    rows, _ = read_table(grid_path)
    title = f"$k = {order}$, $L = {latent_dim}$: AUC {float(summary['auc_mean']):.3f}"
    models.append({"title": title, "rows": rows})
plot_latent_bands(models, [snakemake.output.pdf, snakemake.output.png])
