"""Centre, normalise and shuffle the jets of the merged store (rule preprocess_jets)."""

from moment_pooling.data.preprocess import preprocess_store
from moment_pooling.logs import setup_rule_logging

logger = setup_rule_logging(snakemake.log[0], "preprocess_jets")  # noqa: F821

preprocess_store(
    snakemake.input[0],  # noqa: F821
    snakemake.output[0],  # noqa: F821
    snakemake.params.shuffle_seed,  # noqa: F821
    logger,
)
