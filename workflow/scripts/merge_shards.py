"""Validate and merge the generated shards into one jet store (rule merge_shards)."""

from moment_pooling.data.store import merge_shards
from moment_pooling.logs import setup_rule_logging
from moment_pooling.provenance import package_versions

logger = setup_rule_logging(snakemake.log[0], "merge_shards")  # noqa: F821

params = snakemake.params  # noqa: F821
summary = merge_shards(
    list(snakemake.input),  # noqa: F821
    snakemake.output.store,  # noqa: F821
    {
        "source": "pythia",
        "base_seed": params.base_seed,
        "pthat_min": params.pthat_min,
        "pthat_max": params.pthat_max,
        "versions": package_versions(),
    },
    max_particles=params.max_particles,
)
logger.info(
    "merged %d shards: %d quark and %d gluon jets, padded to %d particles",
    len(snakemake.input),  # noqa: F821
    summary["quark"]["count"],
    summary["gluon"]["count"],
    summary["max_particles"],
)
