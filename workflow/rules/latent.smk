"""Study 3: the latent functions Phi^a of quark/gluon Moment-EFNs.

Each (k, L) model comes from the full-F scan when a draw has that k and L,
and is trained here (rule train_latent) otherwise. Its Phi functions are
tabulated on a (y, phi) grid, then drawn as bands where each Phi^a lies
between 45% and 55% of its range. The L = 1 models are also drawn against
r = sqrt(y^2 + phi^2) with a fit a + b log r.
"""

from moment_pooling import studies


LATENT = config["latent"]
LATENT_REQUESTS = [tuple(pair) for pair in LATENT["models"]]
LATENT_L1_REQUESTS = [(order, 1) for order in LATENT["L1_orders"]]
LATENT_MODELS = studies.select_latent_models(
    LATENT_REQUESTS + LATENT_L1_REQUESTS,
    QG_SCAN_DRAWS,
    n_scan_seeds=QG_SCAN["n_seeds"],
    n_latent_seeds=LATENT["n_seeds"],
    min_widths=(LATENT["Phi_width"], LATENT["F_width"]),
)
LATENT_GROUPS = {"models": LATENT_REQUESTS, "L1": LATENT_L1_REQUESTS}

FINAL_OUTPUTS.extend(
    expand(
        "results/figures/{figure}.{ext}",
        figure=["latent_bands_models", "latent_bands_L1", "latent_radial"],
        ext=["pdf", "png"],
    )
)
FINAL_OUTPUTS.extend(
    expand("results/tables/latent_{table}.csv", table=["models", "radial_fit"])
)


rule train_latent:
    input:
        store=PREPROCESSED_STORE,
    output:
        model=f"{studies.LATENT_RUN_DIR}/model.keras",
        history=f"{studies.LATENT_RUN_DIR}/history.csv",
        metrics=f"{studies.LATENT_RUN_DIR}/metrics.json",
    log:
        "logs/train_latent/k{order}_L{latent_dim}_s{seed}.log",
    benchmark:
        "results/benchmarks/train_latent/k{order}_L{latent_dim}_s{seed}.tsv"
    wildcard_constraints:
        order=r"\d+",
        latent_dim=r"\d+",
        seed=r"\d+",
    params:
        model_kwargs=lambda wildcards: studies.latent_model_kwargs(
            int(wildcards.order),
            int(wildcards.latent_dim),
            LATENT["Phi_width"],
            LATENT["F_width"],
        ),
        study=studies.select_keys(LATENT, studies.TRAINING_KEYS),
        splits=studies.select_keys(QG_SCAN, studies.SPLIT_KEYS),
        training=studies.select_keys(config["training"], studies.OPTIMISER_KEYS),
        checkpoint_dir="results/checkpoints/train_latent/k{order}_L{latent_dim}_s{seed}",
    threads: config["training"]["threads"]
    resources:
        gpu=1,
        runtime=config["training"]["runtime_min"],
        mem_mb=config["training"]["mem_mb"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/train_qg_classifier.py"


rule tabulate_latent_phi:
    input:
        model=lambda wildcards: studies.latent_model(
            LATENT_MODELS, wildcards.order, wildcards.latent_dim
        )["plotted_model"],
    output:
        "results/tables/latent_phi_k{order}_L{latent_dim}.csv",
    log:
        "logs/tabulate_latent_phi/k{order}_L{latent_dim}.log",
    wildcard_constraints:
        order=r"\d+",
        latent_dim=r"\d+",
    params:
        grid_radius=LATENT["grid_radius"],
        grid_points=LATENT["grid_points"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/tabulate_latent_phi.py"


rule tabulate_latent:
    input:
        metrics=[
            f"{run_dir}/metrics.json"
            for model in LATENT_MODELS
            for run_dir in model["run_dirs"]
        ],
        L1_grids=expand(
            "results/tables/latent_phi_k{order}_L1.csv", order=LATENT["L1_orders"]
        ),
    output:
        models="results/tables/latent_models.csv",
        radial_fit="results/tables/latent_radial_fit.csv",
    log:
        "logs/tabulate_latent/tabulate_latent.log",
    params:
        models=LATENT_MODELS,
        L1_orders=LATENT["L1_orders"],
        grid_radius=LATENT["grid_radius"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/tabulate_latent.py"


rule plot_latent_bands:
    input:
        models="results/tables/latent_models.csv",
        grids=lambda wildcards: [
            f"results/tables/latent_phi_k{order}_L{latent_dim}.csv"
            for order, latent_dim in LATENT_GROUPS[wildcards.group]
        ],
    output:
        pdf="results/figures/latent_bands_{group}.pdf",
        png=report(
            "results/figures/latent_bands_{group}.png",
            caption="../report/latent_bands.rst",
            category="3. Latent spaces",
        ),
    log:
        "logs/plot_latent_bands/{group}.log",
    wildcard_constraints:
        group="|".join(LATENT_GROUPS),
    params:
        requests=lambda wildcards: LATENT_GROUPS[wildcards.group],
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot_latent_bands.py"


rule plot_latent_radial:
    input:
        models="results/tables/latent_models.csv",
        radial_fit="results/tables/latent_radial_fit.csv",
        grids=expand(
            "results/tables/latent_phi_k{order}_L1.csv", order=LATENT["L1_orders"]
        ),
    output:
        pdf="results/figures/latent_radial.pdf",
        png=report(
            "results/figures/latent_radial.png",
            caption="../report/latent_radial.rst",
            category="3. Latent spaces",
        ),
    log:
        "logs/plot_latent_radial/plot_latent_radial.log",
    params:
        L1_orders=LATENT["L1_orders"],
    conda:
        "../../environment.yml"
    script:
        "../scripts/plot_latent_radial.py"
