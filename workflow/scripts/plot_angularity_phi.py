"""Plot Phi of the linear k = 2 angularity networks with their plane fits."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging
from moment_pooling.plotting import plot_linear_phi
from moment_pooling.provenance import read_table

setup_rule_logging(snakemake.log[0], "plot_angularity_phi")

grid_rows, _ = read_table(snakemake.input.grid)
fit_rows, _ = read_table(snakemake.input.fit)
plot_linear_phi(grid_rows, fit_rows, [snakemake.output.pdf, snakemake.output.png])
