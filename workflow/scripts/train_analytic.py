"""Train the dense quark/gluon classifier on analytic moments or angularities."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging

logger = setup_rule_logging(snakemake.log[0], "train_analytic")

from moment_pooling.devices import visible_gpu  # noqa: E402

with visible_gpu():
    from moment_pooling.analytic import train_dense_classifier
    from moment_pooling.data import load_splits
    from moment_pooling.observables import analytic_moments, angularities

    study = snakemake.params.study
    splits_config = snakemake.params.splits
    training = snakemake.params.training
    features = snakemake.wildcards.features
    splits = load_splits(
        snakemake.input.store,
        splits_config["n_train"],
        splits_config["n_val"],
        splits_config["n_test"],
    )
    if features == "moments":
        logger.info("Features: <phi^j>, j = 1..%d", study["n_moments"])
        data = {
            name: (analytic_moments(s.z, s.yphi, study["n_moments"]), s.labels)
            for name, s in splits.items()
        }
    else:
        logger.info("Features: angularities with beta = %s", study["betas"])
        data = {
            name: (angularities(s.z, s.yphi, study["betas"]), s.labels)
            for name, s in splits.items()
        }
    train_dense_classifier(
        data,
        hidden_sizes=study["hidden_sizes"],
        epochs=study["epochs"],
        batch_size=training["batch_size"],
        learning_rate=training["learning_rate"],
        patience=study["patience"],
        seed=int(snakemake.wildcards.seed),
        model_path=snakemake.output.model,
        history_path=snakemake.output.history,
        metrics_path=snakemake.output.metrics,
        threads=snakemake.threads,
    )
