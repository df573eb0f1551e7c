"""Training of Moment-EFNs with per-epoch checkpoints that survive a kill.

Each epoch visits the training jets in an order drawn from
``numpy.random.default_rng([seed, epoch])``, so the order depends only on the
seed and the epoch number. The model, the Adam state and the early-stopping
state are saved after every epoch. So a run that was killed and restarted with
the same arguments finishes with the same weights as an uninterrupted run, on
CPU, where TensorFlow ops are made deterministic.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import keras
import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from moment_pooling.checks import check_positive_int, is_positive_int
from moment_pooling.io import atomic_path, write_json
from moment_pooling.models import TASKS, build_moment_efn
from moment_pooling.provenance import write_table

__all__ = ["configure_devices", "train_moment_efn"]

logger = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")

# Maximum number of (fpr, tpr) points stored in the metrics file.
MAX_ROC_POINTS = 200

_LATEST = "latest.json"
_CHECKPOINT_PREFIX = "epoch-"


def configure_devices(threads: int | None = None) -> str:
    """Set TensorFlow's thread pools and GPU memory growth; return the device used.

    Returns "GPU" when TensorFlow detects a GPU (memory growth is then switched
    on) and "CPU" otherwise, where ops are also made deterministic. Thread
    counts and memory growth can only be set before TensorFlow initialises its
    runtime. A later call logs a warning and keeps the existing settings.
    Under a Keras backend other than TensorFlow nothing is configured.
    """
    if keras.backend.backend() != "tensorflow":
        logger.info(
            "Keras backend %s: TensorFlow settings left unchanged",
            keras.backend.backend(),
        )
        return "CPU"
    import tensorflow as tf

    if threads is not None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            current = tf.config.threading.get_intra_op_parallelism_threads()
            if current != threads:
                logger.warning(
                    "TensorFlow is already initialised with %d intra-op threads; "
                    "requested threads=%d is not applied",
                    current,
                    threads,
                )
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            logger.warning(
                "TensorFlow is already initialised: memory growth on %s unchanged",
                gpu.name,
            )
    if gpus:
        return "GPU"
    tf.config.experimental.enable_op_determinism()
    return "CPU"


def _check_settings(model_kwargs, task, epochs, batch_size, learning_rate, patience):
    """Raise ``ValueError`` for a training setting that cannot work."""
    if task not in TASKS:
        raise ValueError(
            f"Invalid value for `task`: expected one of {TASKS}. "
            f"Received: task={task!r}"
        )
    if model_kwargs.get("task", task) != task:
        raise ValueError(
            f"model_kwargs['task']={model_kwargs['task']!r} contradicts task={task!r}. "
            "Drop 'task' from model_kwargs."
        )
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    if patience is not None and not is_positive_int(patience):
        raise ValueError(
            "Invalid value for `patience`: expected a positive integer, or None to "
            f"train all epochs. Received: patience={patience!r}"
        )
    if not learning_rate > 0:
        raise ValueError(
            f"Invalid value for `learning_rate`: expected a positive number. "
            f"Received: learning_rate={learning_rate!r}"
        )


def _check_data(data, task: str) -> dict:
    """Validate the (z, yphi, target) splits and return them as float32 arrays.

    Targets become (n, 1) columns. Raises ``ValueError`` naming the split and
    the problem before any training starts.
    """
    missing = [split for split in SPLITS if split not in data]
    if missing:
        raise ValueError(
            f"`data` is missing the splits {missing}. Received keys: {sorted(data)}"
        )
    unknown = sorted(set(data) - set(SPLITS))
    if unknown:
        raise ValueError(
            f"`data` has unknown splits {unknown}: expected exactly the keys "
            f"{list(SPLITS)}. Received keys: {sorted(data)}"
        )
    arrays = {}
    for split in SPLITS:
        z, yphi, target = (np.asarray(a) for a in data[split])
        n = len(z)
        if z.ndim != 2 or yphi.shape != (*z.shape, 2) or target.shape != (n,):
            raise ValueError(
                f"data[{split!r}] must be (z, yphi, target) with shapes (n, M), "
                f"(n, M, 2) and (n,), one target per jet. "
                f"Received: {z.shape}, {yphi.shape}, {target.shape}"
            )
        if n == 0:
            raise ValueError(
                f"data[{split!r}] has no jets. Pass at least one jet per split."
            )
        _check_finite(split, {"z": z, "yphi": yphi, "target": target})
        if task == "classification":
            invalid = sorted(set(np.unique(target).tolist()) - {0.0, 1.0})
            if invalid:
                raise ValueError(
                    f"data[{split!r}] target must contain only the labels 0 "
                    f"(gluon) and 1 (quark) for classification. Received other "
                    f"values: {invalid[:10]}"
                )
        arrays[split] = (
            z.astype("float32"),
            yphi.astype("float32"),
            target.reshape(n, 1).astype("float32"),
        )
    if task == "classification":
        labels = np.unique(arrays["test"][2])
        if not set(labels) <= {0.0, 1.0} or len(labels) < 2:
            raise ValueError(
                "Classification needs test labels of both classes 0 and 1, because the "
                f"test AUC is undefined otherwise. Received labels: {labels.tolist()}"
            )
    return arrays


def _check_finite(split: str, named_arrays: Mapping[str, np.ndarray]) -> None:
    """Raise ``ValueError`` naming the split and array that has NaN or infinity."""
    for name, values in named_arrays.items():
        if not np.issubdtype(values.dtype, np.number):
            raise ValueError(
                f"data[{split!r}] {name} must be numeric. Received dtype {values.dtype}"
            )
        bad = ~np.isfinite(values)
        if bad.any():
            first_jet = int(np.argwhere(bad)[0][0])
            raise ValueError(
                f"data[{split!r}] {name} contains {int(bad.sum())} NaN or infinite "
                f"values (first in jet {first_jet}). Check the preprocessed store "
                "or the arrays passed in."
            )


def _data_digest(arrays) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for split in SPLITS:
        for array in arrays[split]:
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


def _compile(model: keras.Model, task: str, learning_rate: float) -> None:
    if task == "classification":
        loss, metrics = "binary_crossentropy", ["accuracy"]
    else:
        loss, metrics = "mse", ["mae"]
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=loss,
        metrics=metrics,
    )


class _TrainingState:
    """Everything besides the model that a resumed run needs."""

    def __init__(self, fingerprint: str):
        self.fingerprint = fingerprint
        self.epochs_done = 0
        self.history: list[dict] = []
        self.best_val_loss = math.inf
        self.best_epoch = 0
        self.epochs_without_improvement = 0
        self.stopped_early = False
        self.best_weights: list[np.ndarray] | None = None

    def to_json(self) -> dict:
        return {
            "fingerprint": self.fingerprint,
            "epochs_done": self.epochs_done,
            "history": self.history,
            "best_val_loss": self.best_val_loss,
            "best_epoch": self.best_epoch,
            "epochs_without_improvement": self.epochs_without_improvement,
            "stopped_early": self.stopped_early,
        }

    @classmethod
    def from_json(cls, record: dict) -> _TrainingState:
        state = cls(record["fingerprint"])
        for key in (
            "epochs_done",
            "history",
            "best_val_loss",
            "best_epoch",
            "epochs_without_improvement",
            "stopped_early",
        ):
            setattr(state, key, record[key])
        return state


def _save_checkpoint(
    checkpoint_dir: Path, model: keras.Model, state: _TrainingState
) -> None:
    """Write the checkpoint of ``state.epochs_done`` and point ``latest.json`` at it.

    The files are written into a temporary folder that is renamed into place,
    so a kill leaves either the previous or the new checkpoint complete.
    """
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    name = f"{_CHECKPOINT_PREFIX}{state.epochs_done:05d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=checkpoint_dir))
    try:
        model.save(tmp / "model.keras")
        if state.best_weights is not None:
            np.savez(tmp / "best_weights.npz", *state.best_weights)
        (tmp / "state.json").write_text(json.dumps(state.to_json()))
        final = checkpoint_dir / name
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    write_json(
        checkpoint_dir / _LATEST, {"checkpoint": name, "fingerprint": state.fingerprint}
    )
    for old in checkpoint_dir.glob(f"{_CHECKPOINT_PREFIX}*"):
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(checkpoint_dir: Path, fingerprint: str):
    """Load (model, state) from the latest checkpoint, or return None if unusable."""
    latest = checkpoint_dir / _LATEST
    if not latest.exists():
        return None
    pointer = json.loads(latest.read_text())
    if pointer["fingerprint"] != fingerprint:
        logger.warning(
            "Checkpoint in %s was written for other arguments or data; "
            "training from scratch",
            checkpoint_dir,
        )
        _remove_checkpoints(checkpoint_dir)
        return None
    folder = checkpoint_dir / pointer["checkpoint"]
    state = _TrainingState.from_json(json.loads((folder / "state.json").read_text()))
    model = keras.models.load_model(folder / "model.keras")
    best = folder / "best_weights.npz"
    if best.exists():
        with np.load(best) as stored:
            state.best_weights = [stored[f"arr_{i}"] for i in range(len(stored.files))]
    return model, state


def _remove_checkpoints(checkpoint_dir: Path) -> None:
    """Delete the checkpoint files, then ``checkpoint_dir`` itself if it is empty."""
    (checkpoint_dir / _LATEST).unlink(missing_ok=True)
    for folder in checkpoint_dir.glob(f"{_CHECKPOINT_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)
    for folder in checkpoint_dir.glob(f".{_CHECKPOINT_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)
    try:
        checkpoint_dir.rmdir()
    except OSError:
        logger.info(
            "Checkpoint folder %s contains other files and is kept", checkpoint_dir
        )


def _train_one_epoch(model, arrays, epoch: int, seed: int, batch_size: int) -> dict:
    z, yphi, target = arrays["train"]
    order = np.random.default_rng([seed, epoch]).permutation(len(z))
    z_val, yphi_val, target_val = arrays["val"]
    start = time.perf_counter()
    fit = model.fit(
        [z[order], yphi[order]],
        target[order],
        batch_size=batch_size,
        epochs=1,
        shuffle=False,
        validation_data=([z_val, yphi_val], target_val),
        verbose=0,
    )
    seconds = time.perf_counter() - start
    row = {"epoch": epoch + 1}
    row.update({name: float(values[-1]) for name, values in fit.history.items()})
    row["seconds"] = seconds
    return row


def _log_epoch(row: dict, epochs: int, note: str = "") -> None:
    logger.info(
        "epoch %d/%d%s: loss %.5g, val_loss %.5g, %.2f s",
        row["epoch"],
        epochs,
        note,
        row["loss"],
        row["val_loss"],
        row["seconds"],
    )


def _downsample_roc(
    fpr: np.ndarray, tpr: np.ndarray
) -> tuple[list[float], list[float]]:
    if len(fpr) > MAX_ROC_POINTS:
        keep = np.unique(
            np.linspace(0, len(fpr) - 1, MAX_ROC_POINTS).round().astype(int)
        )
        fpr, tpr = fpr[keep], tpr[keep]
    return fpr.tolist(), tpr.tolist()


def _test_metrics(
    model, arrays, task: str, batch_size: int, state: _TrainingState
) -> dict:
    z, yphi, target = arrays["test"]
    test_loss = model.evaluate(
        [z, yphi], target, batch_size=batch_size, verbose=0, return_dict=True
    )["loss"]
    prediction = model.predict([z, yphi], batch_size=batch_size, verbose=0).ravel()
    truth = target.ravel()
    seconds = [row["seconds"] for row in state.history]
    metrics = {
        "task": task,
        "n_params": int(model.count_params()),
        "epochs_run": state.epochs_done,
        "best_epoch": state.best_epoch,
        "seconds_per_epoch": float(np.mean(seconds)) if seconds else float("nan"),
        "test_loss": float(test_loss),
        "n_test": len(truth),
    }
    if task == "classification":
        metrics["auc"] = float(roc_auc_score(truth, prediction))
        fpr, tpr, _ = roc_curve(truth, prediction)
        metrics["roc_fpr"], metrics["roc_tpr"] = _downsample_roc(fpr, tpr)
    else:
        metrics["mse"] = float(np.mean((prediction.astype("float64") - truth) ** 2))
    return metrics


def train_moment_efn(
    model_kwargs: Mapping,
    data: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
    *,
    task: str,
    epochs: int,
    batch_size: int,
    learning_rate: float = 1e-3,
    patience: int | None = None,
    seed: int,
    model_path: str | os.PathLike,
    history_path: str | os.PathLike,
    metrics_path: str | os.PathLike,
    checkpoint_dir: str | os.PathLike | None = None,
    threads: int | None = None,
) -> dict:
    """Train a Moment-EFN with Adam and write the model, history and test metrics.

    ``data`` maps "train", "val" and "test" to ``(z, yphi, target)`` with
    shapes (n, M), (n, M, 2) and (n,). The model is
    ``build_moment_efn(**model_kwargs, task=task)``, built after
    ``keras.utils.set_random_seed(seed)``. Loss is binary cross-entropy for
    "classification" and mean squared error for "regression". With
    ``patience``, training stops after that many epochs without a lower
    validation loss and the weights of the best epoch are restored.

    Each output is written atomically. ``model_path`` is the .keras model.
    ``history_path`` is a CSV table with one row per epoch: epoch, loss,
    val_loss, seconds and the compiled metrics. ``metrics_path`` is JSON with
    the returned dict: task, n_params, epochs_run, best_epoch,
    seconds_per_epoch, test_loss, n_test, and for classification auc, roc_fpr
    and roc_tpr (at most 200 points), for regression mse.

    With ``checkpoint_dir``, the model, Adam state, history and early-stopping
    state are saved there after every epoch. A rerun with the same arguments
    and data resumes from the last checkpoint. The checkpoint is removed once
    the outputs are written. ``threads`` sets TensorFlow's intra- and
    inter-op thread pools.
    """
    _check_settings(model_kwargs, task, epochs, batch_size, learning_rate, patience)
    arrays = _check_data(data, task)
    model_kwargs = {key: value for key, value in model_kwargs.items() if key != "task"}
    device = configure_devices(threads)
    logger.info(
        "Training on %s (threads=%s, TF_ENABLE_ONEDNN_OPTS=%s): %s, "
        "%d/%d/%d train/val/test jets",
        device,
        threads,
        os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset"),
        model_kwargs,
        len(arrays["train"][0]),
        len(arrays["val"][0]),
        len(arrays["test"][0]),
    )

    run_arguments = {
        "model_kwargs": model_kwargs,
        "task": task,
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "patience": patience,
        "seed": seed,
    }
    fingerprint = hashlib.blake2b(
        (
            json.dumps(run_arguments, sort_keys=True, default=list)
            + _data_digest(arrays)
        ).encode(),
        digest_size=16,
    ).hexdigest()

    keras.utils.set_random_seed(seed)
    resumed = (
        _load_checkpoint(Path(checkpoint_dir), fingerprint) if checkpoint_dir else None
    )
    if resumed is None:
        model = build_moment_efn(**model_kwargs, task=task)
        _compile(model, task, learning_rate)
        state = _TrainingState(fingerprint)
    else:
        model, state = resumed
        logger.info(
            "Resuming from the checkpoint after epoch %d in %s",
            state.epochs_done,
            checkpoint_dir,
        )
        # Repeat the checkpointed epochs, so that this log lists every epoch
        # even when the log of the killed run is gone.
        for row in state.history:
            _log_epoch(row, epochs, " (from checkpoint)")

    while state.epochs_done < epochs and not state.stopped_early:
        row = _train_one_epoch(model, arrays, state.epochs_done, seed, batch_size)
        state.history.append(row)
        state.epochs_done += 1
        _log_epoch(row, epochs)
        if patience is not None:
            if row["val_loss"] < state.best_val_loss:
                state.best_val_loss = row["val_loss"]
                state.best_epoch = state.epochs_done
                state.epochs_without_improvement = 0
                state.best_weights = [np.array(w) for w in model.get_weights()]
            else:
                state.epochs_without_improvement += 1
                if state.epochs_without_improvement >= patience:
                    state.stopped_early = True
                    logger.info(
                        "Early stopping after epoch %d: "
                        "val_loss has not improved for %d epochs",
                        state.epochs_done,
                        patience,
                    )
        if checkpoint_dir:
            _save_checkpoint(Path(checkpoint_dir), model, state)

    if patience is None:
        state.best_epoch = state.epochs_done
    elif state.best_weights is not None:
        model.set_weights(state.best_weights)
        logger.info(
            "Restored the weights of epoch %d (val_loss %.5g)",
            state.best_epoch,
            state.best_val_loss,
        )

    metrics = _test_metrics(model, arrays, task, batch_size, state)
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    columns = ["epoch", "loss", "val_loss", "seconds"]
    columns += sorted(key for key in state.history[0] if key not in columns)
    write_table(history_path, state.history, columns, config=run_arguments)
    write_json(metrics_path, metrics)
    if checkpoint_dir:
        _remove_checkpoints(Path(checkpoint_dir))
    if task == "classification":
        logger.info(
            "Test AUC %.4f, test loss %.5g", metrics["auc"], metrics["test_loss"]
        )
    else:
        logger.info(
            "Test MSE %.5g, test loss %.5g", metrics["mse"], metrics["test_loss"]
        )
    return metrics
