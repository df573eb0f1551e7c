"""Generate one shard of quark or gluon jets (rule generate_shard)."""

from moment_pooling.data.generate import generate_jets, pythia_seed
from moment_pooling.data.store import JetArrays, write_jets
from moment_pooling.logs import setup_rule_logging
from moment_pooling.provenance import package_versions

logger = setup_rule_logging(snakemake.log[0], "generate_shard")  # noqa: F821

params = snakemake.params  # noqa: F821
process = snakemake.wildcards.process  # noqa: F821
shard = int(snakemake.wildcards.shard)  # noqa: F821
seed = pythia_seed(params.base_seed, process, shard)
logger.info(
    "%s shard %d: %d jets, Pythia seed %d, pT-hat window [%g, %g] GeV",
    process,
    shard,
    params.jets_per_shard,
    seed,
    params.pthat_min,
    params.pthat_max,
)

jets = generate_jets(
    process, params.jets_per_shard, seed, params.pthat_min, params.pthat_max, logger
)
times = jets.times
logger.info(
    "%d jets from %d events in %.0f s (Pythia %.0f%%, FastJet %.0f%%)",
    jets.n_jets,
    jets.n_events,
    times.total,
    100 * times.pythia / times.total,
    100 * times.fastjet / times.total,
)
write_jets(
    snakemake.output[0],  # noqa: F821
    JetArrays(
        jets.particles,
        jets.labels,
        jets.jet_pt,
        jets.jet_y,
        jets.jet_phi,
        extra={"pthat": jets.pthat},
    ),
    {
        "source": "pythia",
        "process": process,
        "shard": shard,
        "base_seed": params.base_seed,
        "pythia_seed": seed,
        "pthat_min": params.pthat_min,
        "pthat_max": params.pthat_max,
        "n_events": jets.n_events,
        "versions": package_versions(),
    },
    require_both_classes=False,
    with_summary=False,
)
