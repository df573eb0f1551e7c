"""Plot the mean training time per epoch of every angularity network and order."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging
from moment_pooling.plotting import plot_epoch_times
from moment_pooling.provenance import read_table

setup_rule_logging(snakemake.log[0], "plot_angularity_epoch_time")

rows, _ = read_table(snakemake.input.summary)
plot_epoch_times(rows, [snakemake.output.pdf, snakemake.output.png])
