"""Plot the scan's test AUC against parameter count, L or L_eff, one colour per k."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging
from moment_pooling.plotting import plot_scan_auc
from moment_pooling.provenance import read_table

setup_rule_logging(snakemake.log[0], "plot_qg_scan")

rows, _ = read_table(snakemake.input.auc)
plot_scan_auc(
    rows, snakemake.wildcards.axis, [snakemake.output.pdf, snakemake.output.png]
)
