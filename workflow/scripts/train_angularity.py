"""Train one Moment-EFN to regress the normalised angularity lambda^(2)."""

# ruff: noqa: F821 - Snakemake defines `snakemake` when it runs the script.

from moment_pooling.logs import setup_rule_logging

logger = setup_rule_logging(snakemake.log[0], "train_angularity")

from moment_pooling.devices import visible_gpu  # noqa: E402

with visible_gpu():
    from moment_pooling.data import load_splits
    from moment_pooling.observables import angularity
    from moment_pooling.studies import normalise_target
    from moment_pooling.training import train_moment_efn

    study = snakemake.params.study
    training = snakemake.params.training
    splits = load_splits(
        snakemake.input.store, study["n_train"], study["n_val"], study["n_test"]
    )
    targets = {
        name: angularity(split.z, split.yphi, 2.0) for name, split in splits.items()
    }
    train_targets = targets["train"]
    logger.info(
        "lambda^(2) on the training jets: mean %.5g, std %.5g",
        train_targets.mean(),
        train_targets.std(),
    )
    data = {
        name: (split.z, split.yphi, normalise_target(targets[name], train_targets))
        for name, split in splits.items()
    }
    train_moment_efn(
        snakemake.params.model_kwargs,
        data,
        task="regression",
        epochs=study["epochs"],
        batch_size=training["batch_size"],
        learning_rate=study["learning_rate"],
        patience=study["patience"],
        seed=study["seed"],
        model_path=snakemake.output.model,
        history_path=snakemake.output.history,
        metrics_path=snakemake.output.metrics,
        checkpoint_dir=snakemake.params.checkpoint_dir,
        threads=snakemake.threads,
    )
