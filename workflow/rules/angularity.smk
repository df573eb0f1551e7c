"""Study 1: regression of the jet angularity lambda^(2) with Moment-EFNs.

The linear, small and large networks are trained at every configured order k;
an extra linear k = 2 network with an L1 penalty on F shows the learned Phi
functions. Tables go to results/tables/angularity_*.csv and figures to
results/figures/angularity_*.{pdf,png}.
"""

from moment_pooling import studies


# Fails here, before any job starts, when a study's split exceeds the data.
studies.check_split_sizes(config)

ANGULARITY = config["angularity"]
ANGULARITY_RUNS = studies.angularity_runs(
    ANGULARITY["orders"], ANGULARITY["networks"]
)
ANGULARITY_RUN_DIRS = [
    studies.ANGULARITY_RUN_DIR.format(**run) for run in ANGULARITY_RUNS
]
# Linear k = 2 networks whose Phi functions are plotted: with the L1 penalty on
# F, and without it when the plain linear network is trained at k = 2.
ANGULARITY_PHI_RUNS = [
    run
    for run in ANGULARITY_RUNS
    if run["order"] == studies.PENALISED_ORDER
    and run["network"] in ("linear", studies.PENALISED_NETWORK)
]
ANGULARITY_FIGURES = ["angularity_val_loss", "angularity_epoch_time", "angularity_phi"]

FINAL_OUTPUTS.extend(
    expand(
        "results/figures/{figure}.{ext}",
        figure=ANGULARITY_FIGURES,
        ext=["pdf", "png"],
    )
)
FINAL_OUTPUTS.extend(
    expand(
        "results/tables/angularity_{table}.csv",
        table=["history", "summary", "phi_grid", "phi_fit"],
    )
)


rule train_angularity:
    input:
        store=PREPROCESSED_STORE,
    output:
        model=f"{studies.ANGULARITY_RUN_DIR}/model.keras",
        history=f"{studies.ANGULARITY_RUN_DIR}/history.csv",
        metrics=f"{studies.ANGULARITY_RUN_DIR}/metrics.json",
    log:
        "logs/train_angularity/{network}_k{order}.log",
    benchmark:
        "results/benchmarks/train_angularity/{network}_k{order}.tsv"
    wildcard_constraints:
        network="|".join(sorted({run["network"] for run in ANGULARITY_RUNS})),
        order=r"\d+",
    params:
        model_kwargs=lambda wildcards: studies.angularity_model_kwargs(
            wildcards.network, int(wildcards.order), ANGULARITY["F_l1"]
        ),
        study=studies.select_keys(
            ANGULARITY,
            [*studies.TRAINING_KEYS, *studies.SPLIT_KEYS, "learning_rate", "seed"],
        ),
        training=studies.select_keys(config["training"], studies.OPTIMISER_KEYS),
        checkpoint_dir="results/checkpoints/train_angularity/{network}_k{order}",
    threads: config["training"]["threads"]
    resources:
        gpu=1,
        runtime=config["training"]["runtime_min"],
        mem_mb=config["training"]["mem_mb"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_angularity.py"


rule tabulate_angularity:
    input:
        histories=[f"{run_dir}/history.csv" for run_dir in ANGULARITY_RUN_DIRS],
        metrics=[f"{run_dir}/metrics.json" for run_dir in ANGULARITY_RUN_DIRS],
        benchmarks=expand(
            "results/benchmarks/train_angularity/{network}_k{order}.tsv",
            zip,
            network=[run["network"] for run in ANGULARITY_RUNS],
            order=[run["order"] for run in ANGULARITY_RUNS],
        ),
    output:
        history="results/tables/angularity_history.csv",
        summary="results/tables/angularity_summary.csv",
    log:
        "logs/tabulate_angularity/tabulate_angularity.log",
    params:
        runs=ANGULARITY_RUNS,
    conda:
        "../../environment.yml"
    script:
        "../scripts/tabulate_angularity.py"


rule tabulate_angularity_phi:
    input:
        models=[
            f"{studies.ANGULARITY_RUN_DIR.format(**run)}/model.keras"
            for run in ANGULARITY_PHI_RUNS
        ],
    output:
        grid="results/tables/angularity_phi_grid.csv",
        fit="results/tables/angularity_phi_fit.csv",
    log:
        "logs/tabulate_angularity_phi/tabulate_angularity_phi.log",
    params:
        runs=ANGULARITY_PHI_RUNS,
        grid_radius=ANGULARITY["grid_radius"],
        grid_points=ANGULARITY["grid_points"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/tabulate_angularity_phi.py"


rule plot_angularity_val_loss:
    input:
        history="results/tables/angularity_history.csv",
    output:
        pdf="results/figures/angularity_val_loss.pdf",
        png=report(
            "results/figures/angularity_val_loss.png",
            caption="../report/angularity_val_loss.rst",
            category="1. Angularity regression",
        ),
    log:
        "logs/plot_angularity_val_loss/plot_angularity_val_loss.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot_angularity_val_loss.py"


rule plot_angularity_epoch_time:
    input:
        summary="results/tables/angularity_summary.csv",
    output:
        pdf="results/figures/angularity_epoch_time.pdf",
        png=report(
            "results/figures/angularity_epoch_time.png",
            caption="../report/angularity_epoch_time.rst",
            category="1. Angularity regression",
        ),
    log:
        "logs/plot_angularity_epoch_time/plot_angularity_epoch_time.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot_angularity_epoch_time.py"


rule plot_angularity_phi:
    input:
        grid="results/tables/angularity_phi_grid.csv",
        fit="results/tables/angularity_phi_fit.csv",
    output:
        pdf="results/figures/angularity_phi.pdf",
        png=report(
            "results/figures/angularity_phi.png",
            caption="../report/angularity_phi.rst",
            category="1. Angularity regression",
        ),
    log:
        "logs/plot_angularity_phi/plot_angularity_phi.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot_angularity_phi.py"
