"""Plot validation MSE against epoch per angularity network, k = 1 against k = 2."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging
from moment_pooling.plotting import plot_angularity_loss
from moment_pooling.provenance import read_table

setup_rule_logging(snakemake.log[0], "plot_angularity_val_loss")

rows, _ = read_table(snakemake.input.history)
plot_angularity_loss(rows, [snakemake.output.pdf, snakemake.output.png])
