"""Train one quark/gluon Moment-EFN (a scan draw or a latent-study model)."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging

logger = setup_rule_logging(snakemake.log[0], snakemake.rule)

from moment_pooling.devices import visible_gpu  # noqa: E402

with visible_gpu():
    from moment_pooling.data import load_splits
    from moment_pooling.training import train_moment_efn

    study = snakemake.params.study
    splits_config = snakemake.params.splits
    training = snakemake.params.training
    splits = load_splits(
        snakemake.input.store,
        splits_config["n_train"],
        splits_config["n_val"],
        splits_config["n_test"],
    )
    data = {name: (split.z, split.yphi, split.labels) for name, split in splits.items()}
    train_moment_efn(
        snakemake.params.model_kwargs,
        data,
        task="classification",
        epochs=study["epochs"],
        batch_size=training["batch_size"],
        learning_rate=training["learning_rate"],
        patience=study["patience"],
        seed=int(snakemake.wildcards.seed),
        model_path=snakemake.output.model,
        history_path=snakemake.output.history,
        metrics_path=snakemake.output.metrics,
        checkpoint_dir=snakemake.params.checkpoint_dir,
        threads=snakemake.threads,
    )
