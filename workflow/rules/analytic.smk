"""Study 4: a dense classifier on the first moments of phi(r) = 1 + 0.5 log(r + 0.01).

Its baseline is the same kind of network on jet angularities lambda^(beta).
Both use the quark/gluon scan's train/val/test split, so their ROC curves are
measured on the same test jets as the k = 4, L = 1 Moment-EFN of the latent
study, which the figure shows beside them.
"""

from moment_pooling import studies


ANALYTIC = config["analytic"]
ANALYTIC_FEATURES = ["moments", "angularities"]
ANALYTIC_RUN_DIRS = [
    studies.ANALYTIC_RUN_DIR.format(features=features, seed=seed)
    for features in ANALYTIC_FEATURES
    for seed in range(ANALYTIC["n_seeds"])
]
# The trained Moment-EFN compared with the analytic classifier: k = 4, L = 1.
ANALYTIC_MOMENT_EFN = studies.latent_model(LATENT_MODELS, order=4, latent_dim=1)

FINAL_OUTPUTS.extend(
    expand("results/figures/analytic_roc.{ext}", ext=["pdf", "png"])
)
FINAL_OUTPUTS.extend(
    expand("results/tables/analytic_{table}.csv", table=["auc", "roc"])
)


rule train_analytic:
    input:
        store=PREPROCESSED_STORE,
    output:
        model=f"{studies.ANALYTIC_RUN_DIR}/model.keras",
        history=f"{studies.ANALYTIC_RUN_DIR}/history.csv",
        metrics=f"{studies.ANALYTIC_RUN_DIR}/metrics.json",
    log:
        "logs/train_analytic/{features}_s{seed}.log",
    benchmark:
        "results/benchmarks/train_analytic/{features}_s{seed}.tsv"
    wildcard_constraints:
        features="|".join(ANALYTIC_FEATURES),
        seed=r"\d+",
    params:
        study=lambda wildcards: studies.select_keys(
            ANALYTIC,
            [
                *studies.TRAINING_KEYS,
                "hidden_sizes",
                "n_moments" if wildcards.features == "moments" else "betas",
            ],
        ),
        splits=studies.select_keys(QG_SCAN, studies.SPLIT_KEYS),
        training=studies.select_keys(config["training"], studies.OPTIMISER_KEYS),
    threads: config["training"]["threads"]
    resources:
        gpu=1,
        runtime=config["training"]["runtime_min"],
        mem_mb=config["training"]["mem_mb"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_analytic.py"


rule tabulate_analytic:
    input:
        analytic=[f"{run_dir}/metrics.json" for run_dir in ANALYTIC_RUN_DIRS],
        moment_efn=[
            f"{run_dir}/metrics.json" for run_dir in ANALYTIC_MOMENT_EFN["run_dirs"]
        ],
    output:
        auc="results/tables/analytic_auc.csv",
        roc="results/tables/analytic_roc.csv",
    log:
        "logs/tabulate_analytic/tabulate_analytic.log",
    params:
        features=ANALYTIC_FEATURES,
        n_seeds=ANALYTIC["n_seeds"],
        n_moments=ANALYTIC["n_moments"],
        betas=ANALYTIC["betas"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/tabulate_analytic.py"


rule plot_analytic_roc:
    input:
        auc="results/tables/analytic_auc.csv",
        roc="results/tables/analytic_roc.csv",
    output:
        pdf="results/figures/analytic_roc.pdf",
        png=report(
            "results/figures/analytic_roc.png",
            caption="../report/analytic_roc.rst",
            category="4. Analytic classifier",
        ),
    log:
        "logs/plot_analytic_roc/plot_analytic_roc.log",
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot_analytic_roc.py"
