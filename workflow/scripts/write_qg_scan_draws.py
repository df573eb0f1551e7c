"""Write the scan's architecture draws, made when the workflow is parsed."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging
from moment_pooling.provenance import write_table

logger = setup_rule_logging(snakemake.log[0], "write_qg_scan_draws")

COLUMNS = [
    "scan",
    "order",
    "draw",
    "Phi_width",
    "F_width",
    "latent_dim",
    "L_eff",
    "n_params",
]
draws = snakemake.params.draws
write_table(snakemake.output[0], draws, COLUMNS, config=snakemake.params.scan)
logger.info("Wrote %d architecture draws to %s", len(draws), snakemake.output[0])
