"""Rules of the data stage: generate or download jets, merge, preprocess.

Generation: one `generate_shard` job per (process, shard), merged by
`merge_shards` into results/data/pythia/jets.h5. Download: `download_energyflow`
writes results/data/energyflow/jets.h5. `preprocess_jets` turns the store of
the configured source into PREPROCESSED_STORE.
"""

# The config schema requires both sections, whichever source is chosen.
PYTHIA_CONFIG = config["data"]["pythia"]
ENERGYFLOW_CONFIG = config["data"]["energyflow"]

# Generation cost (docs/benchmarks.md): about 60 ms per kept jet on one core.
# The runtime request allows 100 ms per jet plus 5 minutes.
SECONDS_PER_JET_ESTIMATE = 0.1


# Shards that the merged Pythia store is built from.
PYTHIA_SHARDS = expand(
    "results/data/pythia/shards/{process}_{shard}.h5",
    process=["quark", "gluon"],
    shard=range(PYTHIA_CONFIG["shards_per_class"]),
)
GENERATE_SHARD_RUNTIME_MIN = 5 + int(
    PYTHIA_CONFIG["jets_per_shard"] * SECONDS_PER_JET_ESTIMATE / 60
)


rule generate_shard:
    output:
        "results/data/pythia/shards/{process}_{shard}.h5",
    log:
        "logs/generate_shard/{process}_{shard}.log",
    wildcard_constraints:
        process="quark|gluon",
        shard=r"\d+",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        runtime=GENERATE_SHARD_RUNTIME_MIN,
        mem_mb=2000,
    params:
        base_seed=PYTHIA_CONFIG["base_seed"],
        jets_per_shard=PYTHIA_CONFIG["jets_per_shard"],
        pthat_min=PYTHIA_CONFIG["pthat_min"],
        pthat_max=PYTHIA_CONFIG["pthat_max"],
    script:
        "../scripts/generate_shard.py"


rule merge_shards:
    input:
        PYTHIA_SHARDS,
    output:
        store="results/data/pythia/jets.h5",
        summary="results/data/pythia/jets_summary.json",
    log:
        "logs/merge_shards/pythia.log",
    conda:
        "../../environment.yml"
    resources:
        runtime=10,
        mem_mb=4000,
    params:
        base_seed=PYTHIA_CONFIG["base_seed"],
        pthat_min=PYTHIA_CONFIG["pthat_min"],
        pthat_max=PYTHIA_CONFIG["pthat_max"],
        max_particles=config["data"]["max_particles"],
    script:
        "../scripts/merge_shards.py"


rule download_energyflow:
    output:
        store="results/data/energyflow/jets.h5",
        summary="results/data/energyflow/jets_summary.json",
    log:
        "logs/download_energyflow/energyflow.log",
    conda:
        "../../environment.yml"
    resources:
        runtime=60,
        mem_mb=8000,
    params:
        num_jets=ENERGYFLOW_CONFIG["num_jets"],
        cache_dir=ENERGYFLOW_CONFIG["cache_dir"],
        timeout_s=ENERGYFLOW_CONFIG["timeout_s"],
        max_particles=config["data"]["max_particles"],
    script:
        "../scripts/download_energyflow.py"


rule preprocess_jets:
    input:
        JETS_STORE,
    output:
        PREPROCESSED_STORE,
    log:
        f"logs/preprocess_jets/{DATA_SOURCE}.log",
    conda:
        "../../environment.yml"
    resources:
        runtime=10,
        mem_mb=8000,
    params:
        shuffle_seed=config["data"]["shuffle_seed"],
    script:
        "../scripts/preprocess_jets.py"
