"""Plot the ROC curves of the analytic classifier, the angularity baseline and the
k = 4, L = 1 Moment-EFN."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging
from moment_pooling.plotting import plot_roc
from moment_pooling.provenance import read_table

setup_rule_logging(snakemake.log[0], "plot_analytic_roc")

roc_rows, _ = read_table(snakemake.input.roc)
auc_rows, _ = read_table(snakemake.input.auc)
plot_roc(roc_rows, auc_rows, [snakemake.output.pdf, snakemake.output.png])
