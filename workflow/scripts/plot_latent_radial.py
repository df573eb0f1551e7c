"""Plot Phi against r for the L = 1 models, with the fitted a + b log r."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging
from moment_pooling.plotting import plot_radial
from moment_pooling.provenance import read_table

setup_rule_logging(snakemake.log[0], "plot_latent_radial")

summaries, _ = read_table(snakemake.input.models)
fits, _ = read_table(snakemake.input.radial_fit)
models = []
for order, grid_path in zip(
    snakemake.params.L1_orders, snakemake.input.grids, strict=True
):
    summary = next(
        row
        for row in summaries
        if int(row["order"]) == order and int(row["latent_dim"]) == 1
    )
    rows, _ = read_table(grid_path)
    title = f"$k = {order}$, $L = 1$: AUC {float(summary['auc_mean']):.3f}"
    models.append({"order": order, "title": title, "rows": rows})
plot_radial(models, fits, [snakemake.output.pdf, snakemake.output.png])
