"""Rules of the data stage: generate or download jets, merge, preprocess.

Generation: one `generate_shard` job per (process, shard), merged by
`merge_shards` into results/data/pythia/jets.h5. Download: `download_energyflow`
writes results/data/energyflow/jets.h5. `preprocess_jets` turns the store of
the configured source into PREPROCESSED_STORE.
"""


PYTHIA_CONFIG = config["data"].get("pythia", {})
ENERGYFLOW_CONFIG = config["data"].get("energyflow", {})

# Generation cost measured by benchmarks/bench_generation.py: about 50 ms per
# kept jet on one core; the runtime request allows twice that plus start-up.
SECONDS_PER_JET_ESTIMATE = 0.1


def shard_paths(wildcards):
    """Return every shard file that the merged Pythia store is built from."""
    return expand(
        "results/data/pythia/shards/{process}_{shard}.h5",
        process=["quark", "gluon"],
        shard=range(PYTHIA_CONFIG["shards_per_class"]),
    )


rule generate_shard:
    output:
        "results/data/pythia/shards/{process}_{shard}.h5",
    log:
        "logs/generate_shard/{process}_{shard}.log",
    wildcard_constraints:
        process="quark|gluon",
        shard=r"\d+",
    params:
        base_seed=PYTHIA_CONFIG.get("base_seed"),
        jets_per_shard=PYTHIA_CONFIG.get("jets_per_shard"),
        pthat_min=PYTHIA_CONFIG.get("pthat_min"),
        pthat_max=PYTHIA_CONFIG.get("pthat_max"),
    threads: 1
    resources:
        runtime=lambda wildcards: 5
        + int(PYTHIA_CONFIG["jets_per_shard"] * SECONDS_PER_JET_ESTIMATE / 60),
        mem_mb=2000,
    script:
        "../scripts/generate_shard.py"


rule merge_shards:
    input:
        shard_paths,
    output:
        store="results/data/pythia/jets.h5",
        summary="results/data/pythia/jets_summary.json",
    log:
        "logs/merge_shards/pythia.log",
    params:
        base_seed=PYTHIA_CONFIG.get("base_seed"),
        pthat_min=PYTHIA_CONFIG.get("pthat_min"),
        pthat_max=PYTHIA_CONFIG.get("pthat_max"),
        max_particles=config["data"].get("max_particles"),
    resources:
        runtime=10,
        mem_mb=4000,
    script:
        "../scripts/merge_shards.py"


rule download_energyflow:
    output:
        store="results/data/energyflow/jets.h5",
        summary="results/data/energyflow/jets_summary.json",
    log:
        "logs/download_energyflow/energyflow.log",
    params:
        num_jets=ENERGYFLOW_CONFIG.get("num_jets"),
        cache_dir=ENERGYFLOW_CONFIG.get("cache_dir"),
        timeout_s=ENERGYFLOW_CONFIG.get("timeout_s"),
        max_particles=config["data"].get("max_particles"),
    resources:
        runtime=60,
        mem_mb=8000,
    script:
        "../scripts/download_energyflow.py"


rule preprocess_jets:
    input:
        JETS_STORE,
    output:
        PREPROCESSED_STORE,
    log:
        f"logs/preprocess_jets/{DATA_SOURCE}.log",
    params:
        shuffle_seed=config["data"].get("shuffle_seed"),
    resources:
        runtime=10,
        mem_mb=8000,
    script:
        "../scripts/preprocess_jets.py"
