"""Tests of train_moment_efn: outputs, reproducibility, and resume after a kill."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import moment_pooling.layers  # noqa: F401 - registers MomentPooling for load_model
from moment_pooling import training
from moment_pooling.provenance import read_table
from moment_pooling.training import MAX_ROC_POINTS, train_moment_efn


def synthetic_jets(n_jets, seed, max_particles=24):
    """Jets with quark (label 1) narrower and less populated than gluon jets.

    Multiplicities follow Poisson(10) for quarks and Poisson(18) for gluons,
    z_i is exponential then normalised, and (y, phi) are Gaussian with widths
    0.04 and 0.08 rad around the jet axis. Particles beyond the multiplicity
    are zero padding.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n_jets)
    multiplicity = np.clip(rng.poisson(np.where(labels == 1, 10, 18)), 2, max_particles)
    present = np.arange(max_particles)[None, :] < multiplicity[:, None]
    pt = rng.exponential(size=(n_jets, max_particles)) * present
    z = pt / pt.sum(axis=1, keepdims=True)
    width = np.where(labels == 1, 0.04, 0.08)[:, None, None]
    yphi = rng.normal(size=(n_jets, max_particles, 2)) * width * present[..., None]
    yphi -= np.einsum("bm,bmc->bc", z, yphi)[:, None, :] * present[..., None]
    return z.astype("float32"), yphi.astype("float32"), labels.astype("float32")


def make_data(n_train=300, n_val=100, n_test=100, seed=0):
    return {
        "train": synthetic_jets(n_train, seed),
        "val": synthetic_jets(n_val, seed + 1),
        "test": synthetic_jets(n_test, seed + 2),
    }


MODEL_KWARGS = {"latent_dim": 3, "order": 2, "Phi_sizes": (8, 8), "F_sizes": (8, 8)}


def output_paths(folder):
    return {
        "model_path": folder / "model.keras",
        "history_path": folder / "history.csv",
        "metrics_path": folder / "metrics.json",
    }


def saved_weights(path):
    return keras.models.load_model(path).get_weights()


def test_train_moment_efn_classification_outputs(tmp_path):
    paths = output_paths(tmp_path)
    metrics = train_moment_efn(
        MODEL_KWARGS,
        make_data(),
        task="classification",
        epochs=2,
        batch_size=32,
        learning_rate=1e-2,
        seed=1,
        threads=1,
        **paths,
    )
    assert json.loads(paths["metrics_path"].read_text()) == metrics
    assert metrics["task"] == "classification"
    assert metrics["epochs_run"] == 2
    assert (
        metrics["n_params"]
        == keras.models.load_model(paths["model_path"]).count_params()
    )
    assert metrics["n_test"] == 100
    # Quark jets are half as wide, so even 2 epochs separate the classes.
    assert metrics["auc"] > 0.7
    assert 0 < metrics["test_loss"] < 0.7
    assert metrics["seconds_per_epoch"] > 0
    fpr, tpr = np.array(metrics["roc_fpr"]), np.array(metrics["roc_tpr"])
    assert 2 <= len(fpr) <= MAX_ROC_POINTS
    assert len(fpr) == len(tpr)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0)
    assert np.all(np.diff(tpr) >= 0)

    rows, provenance = read_table(paths["history_path"])
    assert [int(row["epoch"]) for row in rows] == [1, 2]
    assert list(rows[0])[:4] == ["epoch", "loss", "val_loss", "seconds"]
    assert "val_accuracy" in rows[0]
    assert all(np.isfinite(float(row["val_loss"])) for row in rows)
    assert "config_hash" in provenance


def test_train_moment_efn_regression_outputs(tmp_path):
    data = make_data()
    for split, (z, yphi, _) in data.items():
        angularity = np.einsum("bm,bm->b", z, np.sum(yphi**2, axis=-1))
        data[split] = (z, yphi, angularity / angularity.std())
    paths = output_paths(tmp_path)
    metrics = train_moment_efn(
        {
            "latent_dim": 2,
            "order": 2,
            "Phi_sizes": (),
            "F_sizes": (),
            "linear_Phi": True,
            "linear_F": True,
        },
        data,
        task="regression",
        epochs=2,
        batch_size=64,
        seed=2,
        **paths,
    )
    assert metrics["task"] == "regression"
    assert metrics["n_params"] == 12
    assert "auc" not in metrics
    assert np.isfinite(metrics["mse"])
    assert metrics["mse"] == pytest.approx(metrics["test_loss"], rel=1e-4)
    rows, _ = read_table(paths["history_path"])
    assert "val_mae" in rows[0]


def test_train_moment_efn_same_seed_same_result(tmp_path):
    data = make_data(n_train=200)
    results = []
    for run in ("first", "second"):
        paths = output_paths(tmp_path / run)
        metrics = train_moment_efn(
            MODEL_KWARGS,
            data,
            task="classification",
            epochs=2,
            batch_size=50,
            seed=3,
            **paths,
        )
        results.append((metrics, saved_weights(paths["model_path"])))
    (first, first_weights), (second, second_weights) = results
    for key in ("auc", "test_loss", "roc_fpr", "roc_tpr", "n_params"):
        assert first[key] == second[key], key
    for a, b in zip(first_weights, second_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_moment_efn_early_stopping_restores_best(tmp_path):
    # A learning rate this high makes val_loss rise after the first epochs.
    paths = output_paths(tmp_path)
    metrics = train_moment_efn(
        MODEL_KWARGS,
        make_data(n_train=200),
        task="classification",
        epochs=12,
        batch_size=20,
        learning_rate=0.3,
        patience=2,
        seed=4,
        **paths,
    )
    rows, _ = read_table(paths["history_path"])
    val_losses = [float(row["val_loss"]) for row in rows]
    best = int(np.argmin(val_losses)) + 1
    assert metrics["best_epoch"] == best
    assert metrics["epochs_run"] == len(rows)
    assert len(rows) < 12
    assert len(rows) == best + 2
    model = keras.models.load_model(paths["model_path"])
    data = make_data(n_train=200)
    z_val, yphi_val, labels_val = data["val"]
    reloaded_val_loss = model.evaluate(
        [z_val, yphi_val], labels_val, verbose=0, return_dict=True
    )["loss"]
    assert reloaded_val_loss == pytest.approx(val_losses[best - 1], rel=1e-4)


# Trains in a child process. With KILL_AFTER_CHECKPOINT=1 the child kills
# itself with SIGKILL as soon as the first checkpoint is on disk.
TRAIN_SCRIPT = textwrap.dedent(
    """
    import logging, os, signal, sys
    logging.basicConfig(level=logging.INFO)
    sys.path.insert(0, os.environ["TEST_DIR"])
    import moment_pooling.training as training
    from test_training import MODEL_KWARGS, make_data, output_paths
    from pathlib import Path

    if os.environ.get("KILL_AFTER_CHECKPOINT") == "1":
        save = training._save_checkpoint
        def save_then_kill(*args, **kwargs):
            save(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGKILL)
        training._save_checkpoint = save_then_kill

    out = Path(sys.argv[1])
    training.train_moment_efn(
        MODEL_KWARGS, make_data(n_train=200), task="classification", epochs=3,
        batch_size=50, patience=5, seed=5, checkpoint_dir=out / "checkpoint",
        threads=1, **output_paths(out),
    )
    """
)


def run_training_child(out, kill_after_checkpoint):
    environment = {
        **os.environ,
        "TEST_DIR": os.path.dirname(__file__),
        "KILL_AFTER_CHECKPOINT": "1" if kill_after_checkpoint else "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    return subprocess.run(
        [sys.executable, "-c", TRAIN_SCRIPT, str(out)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_train_moment_efn_resumes_after_kill(tmp_path):
    uninterrupted = run_training_child(
        tmp_path / "uninterrupted", kill_after_checkpoint=False
    )
    assert uninterrupted.returncode == 0, uninterrupted.stderr

    resumed_dir = tmp_path / "resumed"
    killed = run_training_child(resumed_dir, kill_after_checkpoint=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (resumed_dir / "checkpoint" / "latest.json").exists()
    assert not (resumed_dir / "metrics.json").exists()

    resumed = run_training_child(resumed_dir, kill_after_checkpoint=False)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming from the checkpoint after epoch 1" in resumed.stderr
    assert "epoch 1/3 (from checkpoint): loss" in resumed.stderr
    assert not (resumed_dir / "checkpoint").exists()

    expected = json.loads((tmp_path / "uninterrupted" / "metrics.json").read_text())
    result = json.loads((resumed_dir / "metrics.json").read_text())
    for key in ("auc", "test_loss", "roc_fpr", "roc_tpr", "epochs_run", "best_epoch"):
        assert result[key] == expected[key], key
    expected_rows, _ = read_table(tmp_path / "uninterrupted" / "history.csv")
    rows, _ = read_table(resumed_dir / "history.csv")
    assert [row["val_loss"] for row in rows] == [
        row["val_loss"] for row in expected_rows
    ]
    expected_weights = saved_weights(tmp_path / "uninterrupted" / "model.keras")
    for a, b in zip(
        saved_weights(resumed_dir / "model.keras"), expected_weights, strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_train_moment_efn_ignores_checkpoint_of_other_run(tmp_path):
    data = make_data(n_train=100)
    checkpoint = tmp_path / "checkpoint"
    other = output_paths(tmp_path / "other")
    # A checkpoint whose fingerprint belongs to some other run must not be resumed.
    training._save_checkpoint(
        checkpoint,
        keras.models.Sequential([keras.Input((1,)), keras.layers.Dense(1)]),
        training._TrainingState("not-this-run"),
    )
    metrics = train_moment_efn(
        MODEL_KWARGS,
        data,
        task="classification",
        epochs=1,
        batch_size=50,
        seed=6,
        checkpoint_dir=checkpoint,
        **other,
    )
    assert metrics["epochs_run"] == 1
    assert not checkpoint.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(task="ranking"), "Received: task='ranking'"),
        (dict(epochs=0), "Received: epochs=0"),
        (dict(batch_size=-4), "Received: batch_size=-4"),
        (dict(patience=0), "Received: patience=0"),
        (dict(learning_rate=0.0), "Received: learning_rate=0.0"),
    ],
)
def test_train_moment_efn_invalid_arguments_raise(tmp_path, arguments, message):
    settings = dict(task="classification", epochs=1, batch_size=10, seed=0)
    settings.update(arguments)
    with pytest.raises(ValueError, match=message):
        train_moment_efn(
            MODEL_KWARGS, make_data(n_train=20), **settings, **output_paths(tmp_path)
        )
    assert not (tmp_path / "metrics.json").exists()


def test_train_moment_efn_invalid_data_raises(tmp_path):
    data = make_data(n_train=20)
    missing = {key: value for key, value in data.items() if key != "val"}
    settings = dict(
        task="classification", epochs=1, batch_size=10, seed=0, **output_paths(tmp_path)
    )
    with pytest.raises(ValueError, match=r"missing the splits \['val'\]"):
        train_moment_efn(MODEL_KWARGS, missing, **settings)
    z, yphi, labels = data["train"]
    bad_shape = {**data, "train": (z, yphi[..., :1], labels)}
    with pytest.raises(ValueError, match=r"data\['train'\] must be"):
        train_moment_efn(MODEL_KWARGS, bad_shape, **settings)
    z, yphi, _ = data["test"]
    one_class = {**data, "test": (z, yphi, np.ones(len(z)))}
    with pytest.raises(ValueError, match="both classes"):
        train_moment_efn(MODEL_KWARGS, one_class, **settings)


def invalid_data_cases():
    """Return (case id, data, expected message) for data rejected before training."""
    data = make_data(n_train=20)
    z, yphi, labels = data["train"]
    nan_z = z.copy()
    nan_z[3, 0] = np.nan
    infinite_yphi = yphi.copy()
    infinite_yphi[2, 1, 0] = np.inf
    nan_target = labels.copy()
    nan_target[4] = np.nan
    return [
        ("extra_split", {**data, "extra": data["val"]}, r"unknown splits \['extra'\]"),
        (
            "label_two",
            {**data, "train": (z, yphi, labels * 2)},
            r"data\['train'\] target must contain only the labels 0 .* \[2\.0\]",
        ),
        (
            "target_column",
            {**data, "train": (z, yphi, labels[:, None])},
            r"data\['train'\] must be .* Received: .*\(20, 1\)",
        ),
        (
            "nan_z",
            {**data, "train": (nan_z, yphi, labels)},
            r"data\['train'\] z contains 1 NaN or infinite values \(first in jet 3\)",
        ),
        (
            "infinite_yphi",
            {**data, "train": (z, infinite_yphi, labels)},
            r"data\['train'\] yphi contains 1 NaN or infinite values",
        ),
        (
            "nan_target",
            {**data, "train": (z, yphi, nan_target)},
            r"data\['train'\] target contains 1 NaN or infinite values",
        ),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(data, message, id=case)
        for case, data, message in invalid_data_cases()
    ],
)
def test_train_moment_efn_bad_data_raises_before_training(
    tmp_path, monkeypatch, data, message
):
    def fail_if_built(**kwargs):
        raise AssertionError("the model was built before the data was checked")

    monkeypatch.setattr(training, "build_moment_efn", fail_if_built)
    settings = dict(
        task="classification", epochs=1, batch_size=10, seed=0, **output_paths(tmp_path)
    )
    with pytest.raises(ValueError, match=message):
        train_moment_efn(MODEL_KWARGS, data, **settings)
    assert not (tmp_path / "metrics.json").exists()


def test_train_moment_efn_nan_regression_target_raises(tmp_path):
    data = make_data(n_train=20)
    z, yphi, target = data["val"]
    target = target.copy()
    target[0] = np.inf
    settings = dict(
        task="regression", epochs=1, batch_size=10, seed=0, **output_paths(tmp_path)
    )
    with pytest.raises(ValueError, match=r"data\['val'\] target contains 1 NaN"):
        train_moment_efn(MODEL_KWARGS, {**data, "val": (z, yphi, target)}, **settings)
