"""A small dense quark/gluon classifier on a few numbers per jet.

Used for the analytic classifier (the first moments of the fixed function
phi(r) = 1 + 0.5 log(r + 0.01)) and its baseline (jet angularities). It writes
the same model, history and metrics files as
:func:`moment_pooling.training.train_moment_efn`, so the result tables treat
both alike.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence

import numpy as np

from moment_pooling.checks import check_positive_int, is_positive_int
from moment_pooling.io import atomic_path, write_json
from moment_pooling.provenance import write_table

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def build_dense_classifier(
    n_features: int,
    hidden_sizes: Sequence[int],
    train_features: np.ndarray,
    activation: str = "leaky_relu",
):
    """Build a dense network: feature standardisation, hidden layers, sigmoid output.

    A ``keras.layers.Normalization`` layer adapted to ``train_features``
    standardises each feature with the training-set mean and variance, and is
    saved with the model.
    """
    import keras

    if not hidden_sizes or not all(is_positive_int(size) for size in hidden_sizes):
        raise ValueError(
            "hidden_sizes must be a non-empty list of positive integers. "
            f"Received: hidden_sizes={list(hidden_sizes)}"
        )
    normalisation = keras.layers.Normalization(name="standardise")
    normalisation.adapt(np.asarray(train_features, dtype="float32"))
    inputs = keras.Input(shape=(n_features,), name="features")
    x = normalisation(inputs)
    for index, size in enumerate(hidden_sizes):
        x = keras.layers.Dense(int(size), activation=activation, name=f"dense_{index}")(
            x
        )
    outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(x)
    return keras.Model(inputs, outputs, name="dense_classifier")


def _check_data(data: Mapping) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    missing = [split for split in SPLITS if split not in data]
    if missing:
        raise ValueError(
            f"data is missing the splits {missing}. Received keys: {sorted(data)}"
        )
    arrays = {}
    n_features = None
    for split in SPLITS:
        features, labels = (np.asarray(a) for a in data[split])
        if features.ndim != 2 or labels.shape != (len(features),):
            raise ValueError(
                f"data[{split!r}] must be (features, labels) with shapes (n, f) and "
                f"(n,). Received: {features.shape}, {labels.shape}"
            )
        if n_features is not None and features.shape[1] != n_features:
            raise ValueError(
                f"data[{split!r}] has {features.shape[1]} features but the train "
                f"split has {n_features}."
            )
        if not np.all(np.isfinite(features)):
            raise ValueError(f"data[{split!r}] contains NaN or infinite features.")
        n_features = features.shape[1]
        arrays[split] = (features.astype("float32"), labels.astype("float32"))
    if len(np.unique(arrays["test"][1])) < 2:
        raise ValueError(
            "The test split needs quark (1) and gluon (0) labels, because the test "
            "AUC is undefined otherwise."
        )
    return arrays


def _roc_points(labels: np.ndarray, scores: np.ndarray, max_points: int):
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    if len(fpr) > max_points:
        keep = np.unique(np.linspace(0, len(fpr) - 1, max_points).round().astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return fpr.tolist(), tpr.tolist()


def train_dense_classifier(
    data: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    hidden_sizes: Sequence[int],
    epochs: int,
    batch_size: int,
    learning_rate: float = 1e-3,
    patience: int | None = None,
    seed: int,
    model_path: str | os.PathLike,
    history_path: str | os.PathLike,
    metrics_path: str | os.PathLike,
    threads: int | None = None,
) -> dict:
    """Train the dense classifier with Adam and binary cross-entropy; write outputs.

    ``data`` maps "train", "val" and "test" to ``(features, labels)`` with
    labels quark = 1, gluon = 0. With ``patience``, training stops after that
    many epochs without a lower validation loss and the best epoch's weights
    are restored. Writes ``model_path`` (.keras), ``history_path`` (CSV, one
    row per epoch: epoch, loss, val_loss, seconds, accuracy, val_accuracy) and
    ``metrics_path`` (JSON: task, n_params, epochs_run, best_epoch,
    seconds_per_epoch, test_loss, n_test, auc, roc_fpr, roc_tpr), each
    atomically, and returns the metrics dict.
    """
    arrays = _check_data(data)
    check_positive_int(epochs, "epochs")

    from moment_pooling.training import MAX_ROC_POINTS, configure_devices

    device = configure_devices(threads)
    import keras
    from sklearn.metrics import roc_auc_score

    keras.utils.set_random_seed(seed)
    train_features, train_labels = arrays["train"]
    model = build_dense_classifier(
        train_features.shape[1], hidden_sizes, train_features
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    logger.info(
        "Training a dense classifier on %s: %d features, hidden %s, %d/%d/%d jets",
        device,
        train_features.shape[1],
        list(hidden_sizes),
        len(train_labels),
        len(arrays["val"][1]),
        len(arrays["test"][1]),
    )

    epoch_seconds: list[float] = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_seconds.append(time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_seconds.__setitem__(
            -1, time.perf_counter() - epoch_seconds[-1]
        ),
    )
    callbacks = [timer]
    if patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=patience, restore_best_weights=True
            )
        )
    fit = model.fit(
        train_features,
        train_labels,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=arrays["val"],
        callbacks=callbacks,
        verbose=0,
    )

    history = []
    for index, seconds in enumerate(epoch_seconds):
        row = {"epoch": index + 1, "seconds": seconds}
        row.update({name: float(values[index]) for name, values in fit.history.items()})
        history.append(row)
    val_losses = [row["val_loss"] for row in history]
    best_epoch = (
        int(np.argmin(val_losses)) + 1 if patience is not None else len(history)
    )

    test_features, test_labels = arrays["test"]
    test_loss = model.evaluate(
        test_features, test_labels, batch_size=batch_size, verbose=0, return_dict=True
    )["loss"]
    scores = model.predict(test_features, batch_size=batch_size, verbose=0).ravel()
    roc_fpr, roc_tpr = _roc_points(test_labels, scores, MAX_ROC_POINTS)
    metrics = {
        "task": "classification",
        "n_params": int(model.count_params()),
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "seconds_per_epoch": float(np.mean(epoch_seconds)),
        "test_loss": float(test_loss),
        "n_test": len(test_labels),
        "auc": float(roc_auc_score(test_labels, scores)),
        "roc_fpr": roc_fpr,
        "roc_tpr": roc_tpr,
    }

    with atomic_path(model_path) as tmp:
        model.save(tmp)
    columns = ["epoch", "loss", "val_loss", "seconds"]
    columns += sorted(key for key in history[0] if key not in columns)
    run_arguments = {
        "hidden_sizes": list(hidden_sizes),
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "patience": patience,
        "seed": seed,
    }
    write_table(history_path, history, columns, config=run_arguments)
    write_json(metrics_path, metrics)
    logger.info("Test AUC %.4f after %d epochs", metrics["auc"], len(history))
    return metrics
