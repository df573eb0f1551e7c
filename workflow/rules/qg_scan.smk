"""Study 2: quark/gluon classification scan over random Moment-EFN architectures.

For each order k the architectures (Phi width, F width, L) are drawn when the
workflow is parsed, from a seed in the config, so every training job is known
before the first one starts. Each draw is trained with several seeds, with a
three-layer F ("full" scan) and, optionally, with a linear F ("linear_F").
"""

from moment_pooling import studies


QG_SCAN = config["qg_scan"]
QG_SCAN_DRAWS = studies.qg_scan_draws(QG_SCAN)
QG_SCAN_RUN_DIRS = [
    studies.QG_SCAN_RUN_DIR.format(**draw, seed=seed)
    for draw in QG_SCAN_DRAWS
    for seed in range(QG_SCAN["n_seeds"])
]
QG_SCAN_AXES = ["n_params", "latent_dim", "L_eff"]

FINAL_OUTPUTS.extend(
    expand(
        "results/figures/qg_scan_auc_vs_{axis}.{ext}",
        axis=QG_SCAN_AXES,
        ext=["pdf", "png"],
    )
)
FINAL_OUTPUTS.extend(
    expand("results/tables/qg_scan_{table}.csv", table=["draws", "runs", "auc"])
)


rule write_qg_scan_draws:
    output:
        "results/tables/qg_scan_draws.csv",
    log:
        "logs/write_qg_scan_draws/write_qg_scan_draws.log",
    params:
        draws=QG_SCAN_DRAWS,
        scan=studies.select_keys(
            QG_SCAN,
            ("orders", "latent_max", "width_max", "n_draws", "draw_seed", "linear_F_scan"),
        ),
    conda:
        "../../environment.yml"
    script:
        "../scripts/write_qg_scan_draws.py"


rule train_qg_scan:
    input:
        store=PREPROCESSED_STORE,
        draws="results/tables/qg_scan_draws.csv",
    output:
        model=f"{studies.QG_SCAN_RUN_DIR}/model.keras",
        history=f"{studies.QG_SCAN_RUN_DIR}/history.csv",
        metrics=f"{studies.QG_SCAN_RUN_DIR}/metrics.json",
    log:
        "logs/train_qg_scan/{scan}/k{order}_d{draw}_s{seed}.log",
    benchmark:
        "results/benchmarks/train_qg_scan/{scan}/k{order}_d{draw}_s{seed}.tsv"
    wildcard_constraints:
        scan="|".join(studies.SCANS),
        order=r"\d+",
        draw=r"\d+",
        seed=r"\d+",
    params:
        model_kwargs=lambda wildcards: studies.scan_model_kwargs(
            studies.find_draw(
                QG_SCAN_DRAWS, wildcards.scan, int(wildcards.order), int(wildcards.draw)
            )
        ),
        study=studies.select_keys(QG_SCAN, studies.TRAINING_KEYS),
        splits=studies.select_keys(QG_SCAN, studies.SPLIT_KEYS),
        training=studies.select_keys(config["training"], studies.OPTIMISER_KEYS),
        checkpoint_dir="results/checkpoints/train_qg_scan/{scan}/k{order}_d{draw}_s{seed}",
    threads: config["training"]["threads"]
    resources:
        gpu=1,
        runtime=config["training"]["runtime_min"],
        mem_mb=config["training"]["mem_mb"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_qg_classifier.py"


rule tabulate_qg_scan:
    input:
        metrics=[f"{run_dir}/metrics.json" for run_dir in QG_SCAN_RUN_DIRS],
    output:
        runs="results/tables/qg_scan_runs.csv",
        auc="results/tables/qg_scan_auc.csv",
    log:
        "logs/tabulate_qg_scan/tabulate_qg_scan.log",
    params:
        draws=QG_SCAN_DRAWS,
        n_seeds=QG_SCAN["n_seeds"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/tabulate_qg_scan.py"


rule plot_qg_scan:
    input:
        auc="results/tables/qg_scan_auc.csv",
    output:
        pdf="results/figures/qg_scan_auc_vs_{axis}.pdf",
        png=report(
            "results/figures/qg_scan_auc_vs_{axis}.png",
            caption="../report/qg_scan_auc.rst",
            category="2. Quark/gluon scan",
        ),
    log:
        "logs/plot_qg_scan/{axis}.log",
    wildcard_constraints:
        axis="|".join(QG_SCAN_AXES),
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot_qg_scan.py"
