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
    draws = [
        {"scan": "full", "order": 2, "draw": 0, "latent_dim": 5},
        {"scan": "full", "order": 2, "draw": 3, "latent_dim": 64},
        {"scan": "full", "order": 2, "draw": 1, "latent_dim": 64},
        {"scan": "linear_F", "order": 1, "draw": 0, "latent_dim": 128},
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
