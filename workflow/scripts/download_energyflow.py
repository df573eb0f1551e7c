"""Download the EnergyFlow sample into a jet store (rule download_energyflow)."""

from moment_pooling.data.download import download_energyflow
from moment_pooling.logs import setup_rule_logging

logger = setup_rule_logging(snakemake.log[0], "download_energyflow")  # noqa: F821

params = snakemake.params  # noqa: F821
summary = download_energyflow(
    params.num_jets,
    params.cache_dir,
    snakemake.output.store,  # noqa: F821
    max_particles=params.max_particles,
    timeout_s=params.timeout_s,
    logger=logger,
)
logger.info(
    "wrote %d quark and %d gluon jets, padded to %d particles",
    summary["quark"]["count"],
    summary["gluon"]["count"],
    summary["max_particles"],
)
