import json
import math

import numpy as np
import pytest

from moment_pooling import studies

SCAN_CONFIG = {
    "orders": [1, 2, 3, 4],
    "latent_max": [128, 64, 32, 16],
    "width_max": 128,
    "n_draws": 3,
    "draw_seed": 7,
    "linear_F_scan": True,
}


def test_effective_latent_dim_known_values():
    assert studies.effective_latent_dim(1, 1) == 2
    assert studies.effective_latent_dim(2, 2) == 6
    assert studies.effective_latent_dim(16, 4) == math.comb(20, 4)


def test_qg_scan_draws_deterministic():
    first = studies.qg_scan_draws(SCAN_CONFIG)
    second = studies.qg_scan_draws(dict(SCAN_CONFIG))
    assert first == second


def test_qg_scan_draws_cover_scans_and_orders():
    rows = studies.qg_scan_draws(SCAN_CONFIG)
    assert len(rows) == 2 * 4 * 3
    keys = {(row["scan"], row["order"], row["draw"]) for row in rows}
    assert len(keys) == len(rows)
    for row in rows:
        latent_max = SCAN_CONFIG["latent_max"][row["order"] - 1]
        assert 1 <= row["latent_dim"] <= latent_max
        assert 1 <= row["Phi_width"] <= 128
        assert row["L_eff"] == math.comb(row["latent_dim"] + row["order"], row["order"])
        if row["scan"] == "linear_F":
            assert row["F_width"] == 1


def test_qg_scan_draws_change_with_seed():
    other = studies.qg_scan_draws(dict(SCAN_CONFIG, draw_seed=8))
    assert other != studies.qg_scan_draws(SCAN_CONFIG)


def test_qg_scan_draws_without_linear_scan():
    rows = studies.qg_scan_draws(dict(SCAN_CONFIG, linear_F_scan=False))
    assert {row["scan"] for row in rows} == {"full"}


def test_scan_model_kwargs_match_parameter_count():
    from moment_pooling.models import build_moment_efn

    for row in studies.qg_scan_draws(dict(SCAN_CONFIG, n_draws=1, width_max=8)):
        model = build_moment_efn(**studies.scan_model_kwargs(row))
        assert model.count_params() == row["n_params"]


def test_find_draw_raises_for_missing_draw():
    rows = studies.qg_scan_draws(dict(SCAN_CONFIG, n_draws=1))
    assert studies.find_draw(rows, "full", 2, 0)["order"] == 2
    with pytest.raises(KeyError, match="draw=5"):
        studies.find_draw(rows, "full", 2, 5)


def test_aggregate_scan_mean_and_std():
    draws = [{"scan": "full", "order": 1, "draw": 0, "latent_dim": 3}]
    rows = studies.aggregate_scan(draws, {("full", 1, 0): [0.7, 0.8, 0.9]})
    assert rows[0]["auc_mean"] == pytest.approx(0.8)
    assert rows[0]["auc_std"] == pytest.approx(np.std([0.7, 0.8, 0.9]))
    assert rows[0]["n_seeds"] == 3
    assert rows[0]["latent_dim"] == 3


def test_summarise_seeds_rejects_empty():
    with pytest.raises(ValueError, match="empty"):
        studies.summarise_seeds([])


def test_select_latent_models_prefers_scan_models():
    widths = {"Phi_width": 10, "F_width": 10}
    draws = [
        {"scan": "full", "order": 2, "draw": 0, "latent_dim": 5, **widths},
        {"scan": "full", "order": 2, "draw": 3, "latent_dim": 64, **widths},
        {"scan": "full", "order": 2, "draw": 1, "latent_dim": 64, **widths},
        {"scan": "linear_F", "order": 1, "draw": 0, "latent_dim": 128, **widths},
    ]
    selected = studies.select_latent_models(
        [(2, 64), (1, 128), (2, 64)], draws, n_scan_seeds=2, n_latent_seeds=3
    )
    assert len(selected) == 2
    scan_model, trained_model = selected
    assert scan_model["source"] == "qg_scan"
    assert scan_model["draw"] == 1
    assert scan_model["run_dirs"] == [
        "results/qg_scan/full/k2_d1_s0",
        "results/qg_scan/full/k2_d1_s1",
    ]
    assert scan_model["plotted_model"] == "results/qg_scan/full/k2_d1_s0/model.keras"
    # Linear-F scan models have a different F, so they are never reused.
    assert trained_model["source"] == "latent"
    assert trained_model["run_dirs"] == [
        f"results/latent/k1_L128_s{seed}" for seed in range(3)
    ]


def test_select_latent_models_skips_narrow_draws():
    draws = [
        {
            "scan": "full",
            "order": 3,
            "draw": 0,
            "latent_dim": 1,
            "Phi_width": 2,
            "F_width": 30,
        },
        {
            "scan": "full",
            "order": 3,
            "draw": 1,
            "latent_dim": 1,
            "Phi_width": 30,
            "F_width": 2,
        },
        {
            "scan": "full",
            "order": 3,
            "draw": 2,
            "latent_dim": 1,
            "Phi_width": 25,
            "F_width": 25,
        },
    ]
    selected = studies.select_latent_models(
        [(3, 1)], draws[:2], n_scan_seeds=2, n_latent_seeds=2, min_widths=(25, 25)
    )
    assert selected[0]["source"] == "latent"
    selected = studies.select_latent_models(
        [(3, 1)], draws, n_scan_seeds=2, n_latent_seeds=2, min_widths=(25, 25)
    )
    assert selected[0]["source"] == "qg_scan"
    assert selected[0]["draw"] == 2


def test_latent_model_names_missing_key():
    selected = studies.select_latent_models([(4, 1)], [], 1, 1)
    assert studies.latent_model(selected, 4, 1)["latent_dim"] == 1
    with pytest.raises(KeyError, match="latent.L1_orders"):
        studies.latent_model(selected, 3, 1)


def test_angularity_runs_add_penalised_network():
    runs = studies.angularity_runs([1, 2], ["linear", "small"])
    assert runs[-1] == {"network": "linear_l1", "order": 2}
    assert len(runs) == 5
    with pytest.raises(ValueError, match="Unknown angularity networks"):
        studies.angularity_runs([1], ["huge"])


def test_angularity_model_kwargs_match_parameter_count():
    from moment_pooling.models import build_moment_efn

    # Linear k = 2, L = 2: Phi 2 x (2 + 1) = 6, F on 5 moments: 5 + 1 = 6.
    expected = {("linear", 1): 6 + 3, ("linear", 2): 12, ("linear_l1", 2): 12}
    for (network, order), n_params in expected.items():
        kwargs = studies.angularity_model_kwargs(network, order, F_l1=1e-3)
        assert build_moment_efn(**kwargs).count_params() == n_params
    assert studies.angularity_model_kwargs("linear_l1", 2, 0.01)["F_l1"] == 0.01
    assert studies.angularity_model_kwargs("large", 1, 0.01)["task"] == "regression"


def data_config(shards=2, jets=100):
    return {
        "source": "pythia",
        "pythia": {"shards_per_class": shards, "jets_per_shard": jets},
    }


def test_dataset_size_per_source():
    assert studies.dataset_size(data_config(3, 50)) == 300
    assert (
        studies.dataset_size({"source": "energyflow", "energyflow": {"num_jets": 7}})
        == 7
    )


def test_check_split_sizes_names_keys():
    split = {"n_train": 300, "n_val": 60, "n_test": 60}
    config = {"data": data_config(), "angularity": split, "qg_scan": split}
    with pytest.raises(ValueError, match=r"angularity.n_train=300") as error:
        studies.check_split_sizes(config)
    assert "provides 400" in str(error.value)
    fitting = {"n_train": 280, "n_val": 60, "n_test": 60}
    studies.check_split_sizes(dict(config, angularity=fitting, qg_scan=fitting))


def test_yphi_grid_layout():
    grid = studies.yphi_grid(0.4, 5)
    assert grid.shape == (25, 2)
    np.testing.assert_allclose(grid[1], [-0.4, -0.2])
    np.testing.assert_allclose(grid[5], [-0.2, -0.4])
    with pytest.raises(ValueError, match="radius > 0"):
        studies.yphi_grid(0.0, 5)


def test_fit_plane_recovers_coefficients():
    grid = studies.yphi_grid(0.4, 11)
    y, phi = grid[:, 0], grid[:, 1]
    values = np.column_stack([0.5 + 2.0 * y, -1.0 * phi, np.full_like(y, 3.0)])
    fits = studies.fit_plane(y, phi, values)
    assert fits[0] == pytest.approx(
        {"a": 0.5, "b": 2.0, "c": 0.0, "r2": 1.0}, abs=1e-10
    )
    assert fits[1] == pytest.approx(
        {"a": 0.0, "b": 0.0, "c": -1.0, "r2": 1.0}, abs=1e-10
    )
    assert fits[2]["a"] == pytest.approx(3.0)
    assert fits[2]["r2"] == 1.0


def test_fit_plane_r2_below_one_for_curved_function():
    grid = studies.yphi_grid(0.4, 11)
    fit = studies.fit_plane(grid[:, 0], grid[:, 1], grid[:, 0] ** 2)[0]
    assert fit["r2"] < 0.1


def test_fit_log_radial_recovers_coefficients():
    r = np.linspace(0.01, 0.5, 50)
    fit = studies.fit_log_radial(r, 1.0 + 0.5 * np.log(r))[0]
    assert fit == pytest.approx({"a": 1.0, "b": 0.5, "r2": 1.0})
    with pytest.raises(ValueError, match="r > 0"):
        studies.fit_log_radial(np.array([0.0, 0.1]), np.array([1.0, 2.0]))


def separable_features(n_jets, seed):
    """Two Gaussian classes 3 standard deviations apart in the first feature."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n_jets) % 2
    features = rng.normal(size=(n_jets, 3))
    features[:, 0] += 3.0 * labels
    return features, labels


def test_train_dense_classifier_writes_metrics(tmp_path):
    from moment_pooling.analytic import train_dense_classifier
    from moment_pooling.provenance import read_table

    data = {
        split: separable_features(n_jets, seed)
        for seed, (split, n_jets) in enumerate(
            (("train", 400), ("val", 100), ("test", 200))
        )
    }
    paths = {
        "model_path": tmp_path / "model.keras",
        "history_path": tmp_path / "history.csv",
        "metrics_path": tmp_path / "metrics.json",
    }
    metrics = train_dense_classifier(
        data,
        hidden_sizes=[8],
        epochs=4,
        batch_size=32,
        learning_rate=1e-2,
        patience=2,
        seed=0,
        threads=1,
        **paths,
    )
    assert json.loads(paths["metrics_path"].read_text()) == metrics
    assert metrics["task"] == "classification"
    # Classes 3 sigma apart give an ideal AUC of Phi(3 / sqrt(2)) = 0.983.
    assert metrics["auc"] > 0.9
    assert metrics["n_test"] == 200
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_run"] <= 4
    assert len(metrics["roc_fpr"]) == len(metrics["roc_tpr"])
    history, _ = read_table(paths["history_path"])
    assert len(history) == metrics["epochs_run"]
    assert {"epoch", "loss", "val_loss", "seconds"} <= set(history[0])
    assert paths["model_path"].stat().st_size > 0


def test_train_dense_classifier_rejects_bad_input(tmp_path):
    from moment_pooling.analytic import train_dense_classifier

    features, labels = separable_features(20, 0)
    paths = {
        "model_path": tmp_path / "m.keras",
        "history_path": tmp_path / "h.csv",
        "metrics_path": tmp_path / "m.json",
    }
    settings = {"hidden_sizes": [4], "epochs": 1, "batch_size": 8, "seed": 0}
    with pytest.raises(ValueError, match="missing the splits"):
        train_dense_classifier({"train": (features, labels)}, **settings, **paths)
    one_class = {s: (features, np.zeros(20)) for s in ("train", "val", "test")}
    with pytest.raises(ValueError, match="quark"):
        train_dense_classifier(one_class, **settings, **paths)
    with_nan = features.copy()
    with_nan[0, 0] = np.nan
    bad = {s: (with_nan, labels) for s in ("train", "val", "test")}
    with pytest.raises(ValueError, match="NaN"):
        train_dense_classifier(bad, **settings, **paths)
    good = {s: (features, labels) for s in ("train", "val", "test")}
    with pytest.raises(ValueError, match="hidden_sizes"):
        train_dense_classifier(good, **dict(settings, hidden_sizes=[]), **paths)
    assert not paths["metrics_path"].exists()


def test_select_keys_returns_named_entries():
    section = {"epochs": 3, "patience": None, "n_draws": 25}
    assert studies.select_keys(section, studies.TRAINING_KEYS) == {
        "epochs": 3,
        "patience": None,
    }
    with pytest.raises(KeyError, match="n_train"):
        studies.select_keys(section, studies.SPLIT_KEYS)
