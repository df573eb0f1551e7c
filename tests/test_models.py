"""Tests of the Moment-EFN builder, parameter counts and architecture sampler."""

import math
import re
import zipfile

import keras
import numpy as np
import pytest

from moment_pooling.layers import MomentPooling
from moment_pooling.models import (
    build_moment_efn,
    count_moment_efn_params,
    phi_network,
    sample_architectures,
)


def random_jets(rng, n_jets=6, particles=12):
    z = rng.random((n_jets, particles))
    z /= z.sum(axis=1, keepdims=True)
    yphi = rng.normal(scale=0.1, size=(n_jets, particles, 2))
    return z.astype("float32"), yphi.astype("float32")


def predict(model, z, yphi):
    return model.predict([z, yphi], verbose=0).ravel()


ARCHITECTURES = [
    dict(
        latent_dim=2, order=1, Phi_sizes=(), F_sizes=(), linear_Phi=True, linear_F=True
    ),
    dict(
        latent_dim=2, order=2, Phi_sizes=(), F_sizes=(), linear_Phi=True, linear_F=True
    ),
    dict(latent_dim=2, order=2, Phi_sizes=(4, 4), F_sizes=(4, 4)),
    dict(latent_dim=8, order=1, Phi_sizes=(32, 32, 32), F_sizes=(32, 32, 32)),
    dict(latent_dim=8, order=2, Phi_sizes=(32, 32, 32), F_sizes=(32, 32, 32)),
    dict(latent_dim=5, order=4, Phi_sizes=(7, 3), F_sizes=(), linear_F=True),
    dict(latent_dim=3, order=3, Phi_sizes=(), F_sizes=(6,), linear_Phi=True),
    dict(latent_dim=16, order=4, Phi_sizes=(100, 100), F_sizes=(100, 100)),
]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_count_moment_efn_params_matches_keras(architecture):
    model = build_moment_efn(**architecture)
    assert count_moment_efn_params(**architecture) == model.count_params()


def test_count_moment_efn_params_known_values():
    # Linear angularity net, k = 2, L = 2: Phi is 2 x 2 + 2, F is 5 + 1.
    assert count_moment_efn_params(2, 2, (), (), linear_Phi=True, linear_F=True) == 12
    # EFN (k = 1) with one hidden layer each: (2+1)*4 + (4+1)*3 + (3+1)*5 + (5+1)*1.
    assert count_moment_efn_params(3, 1, (4,), (5,)) == 12 + 15 + 20 + 6


def test_build_moment_efn_layer_names_and_activations():
    model = build_moment_efn(4, 3, (8, 8), (6,), task="classification")
    names = [
        layer.name
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    assert names == ["Phi_0", "Phi_1", "Phi_2", "moment_pooling", "F_0", "output"]
    assert [inp.name for inp in model.inputs] == ["z", "yphi"]
    assert model.get_layer("Phi_2").units == 4
    assert model.get_layer("Phi_2").activation is keras.activations.leaky_relu
    assert model.get_layer("output").activation is keras.activations.sigmoid
    assert model.get_layer("moment_pooling").order == 3
    assert model.output.shape == (None, 1)

    regression = build_moment_efn(
        2, 2, (), (), task="regression", linear_Phi=True, linear_F=True
    )
    assert regression.get_layer("Phi_0").activation is keras.activations.linear
    assert regression.get_layer("output").activation is keras.activations.linear


def test_linear_moment_efn_closed_form():
    # With linear Phi and F and k = 2, the output is a linear function of the
    # first and second z-weighted moments of Phi = W (y, phi) + b.
    rng = np.random.default_rng(0)
    model = build_moment_efn(
        2, 2, (), (), task="regression", linear_Phi=True, linear_F=True
    )
    z, yphi = random_jets(rng)
    kernel, bias = model.get_layer("Phi_0").get_weights()
    Phi = yphi.astype("float64") @ kernel + bias
    moments = np.stack(
        [
            np.einsum(
                "bm,bm->b", z, Phi[..., a] * (Phi[..., b] if b is not None else 1.0)
            )
            for a, b in [(0, None), (1, None), (0, 0), (0, 1), (1, 1)]
        ],
        axis=-1,
    )
    F_kernel, F_bias = model.get_layer("output").get_weights()
    expected = (moments @ F_kernel + F_bias).ravel()
    np.testing.assert_allclose(predict(model, z, yphi), expected, rtol=1e-4, atol=1e-5)


def test_build_moment_efn_l1_penalties_add_losses():
    model = build_moment_efn(2, 2, (4,), (4,), Phi_l1=0.1, F_l1=0.2)
    assert model.get_layer("Phi_0").kernel_regularizer.get_config()[
        "l1"
    ] == pytest.approx(0.1)
    assert model.get_layer("Phi_1").kernel_regularizer.get_config()[
        "l1"
    ] == pytest.approx(0.1)
    assert model.get_layer("F_0").kernel_regularizer.get_config()[
        "l1"
    ] == pytest.approx(0.2)
    assert model.get_layer("output").kernel_regularizer.get_config()[
        "l1"
    ] == pytest.approx(0.2)
    assert len(model.losses) == 4
    assert build_moment_efn(2, 2, (4,), (4,)).losses == []


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_moment_efn_infrared_safe(order):
    rng = np.random.default_rng(order)
    model = build_moment_efn(3, order, (16, 16), (16, 16))
    z, yphi = random_jets(rng)
    soft_yphi = rng.normal(scale=0.3, size=(6, 3, 2)).astype("float32")
    z_soft = np.concatenate([z, np.zeros((6, 3), "float32")], axis=1)
    yphi_soft = np.concatenate([yphi, soft_yphi], axis=1)
    np.testing.assert_allclose(
        predict(model, z_soft, yphi_soft), predict(model, z, yphi), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_moment_efn_collinear_safe(order):
    rng = np.random.default_rng(10 + order)
    model = build_moment_efn(3, order, (16, 16), (16, 16), task="regression")
    z, yphi = random_jets(rng)
    # Split particle 0 of every jet into two collinear particles.
    fraction = rng.uniform(0.1, 0.9, size=(6, 1)).astype("float32")
    z_split = np.concatenate(
        [z[:, :1] * fraction, z[:, :1] * (1 - fraction), z[:, 1:]], axis=1
    )
    yphi_split = np.concatenate([yphi[:, :1], yphi], axis=1)
    np.testing.assert_allclose(
        predict(model, z_split, yphi_split),
        predict(model, z, yphi),
        rtol=1e-5,
        atol=1e-6,
    )


def test_moment_efn_permutation_invariant():
    rng = np.random.default_rng(20)
    model = build_moment_efn(4, 3, (16,), (16,))
    z, yphi = random_jets(rng)
    permutation = rng.permutation(z.shape[1])
    np.testing.assert_allclose(
        predict(model, z[:, permutation], yphi[:, permutation]),
        predict(model, z, yphi),
        rtol=1e-5,
        atol=1e-6,
    )


def test_moment_efn_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(30)
    model = build_moment_efn(3, 4, (8, 8), (8,))
    z, yphi = random_jets(rng)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = archive.read("config.json").decode()
    assert "Lambda" not in config
    assert '"registered_name": "moment_pooling>MomentPooling"' in config

    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.get_layer("moment_pooling"), MomentPooling)
    np.testing.assert_array_equal(predict(reloaded, z, yphi), predict(model, z, yphi))


def test_phi_network_matches_phi_layers():
    rng = np.random.default_rng(40)
    model = build_moment_efn(5, 2, (8, 8), (8,))
    points = rng.normal(size=(30, 2)).astype("float32")
    Phi = phi_network(model).predict(points, verbose=0)
    assert Phi.shape == (30, 5)
    expected = points
    for name in ["Phi_0", "Phi_1", "Phi_2"]:
        expected = keras.ops.convert_to_numpy(model.get_layer(name)(expected))
    np.testing.assert_allclose(Phi, expected, rtol=1e-6, atol=1e-6)


def test_phi_network_rejects_foreign_model():
    inputs = keras.Input(shape=(2,))
    other = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match="no layer named 'Phi_0'"):
        phi_network(other)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(latent_dim=0, order=1), "Received: latent_dim=0"),
        (dict(latent_dim=2, order=0), "Received: order=0"),
        (dict(latent_dim=2, order=1, Phi_sizes=(4, 0)), "Phi_sizes"),
        (dict(latent_dim=2, order=1, F_sizes=(-1,)), "F_sizes"),
        (dict(latent_dim=2, order=1, linear_Phi=True), "Pass Phi_sizes=()"),
        (dict(latent_dim=2, order=1, F_sizes=(4,), linear_F=True), "Pass F_sizes=()"),
        (dict(latent_dim=2, order=1, task="ranking"), "Received: task='ranking'"),
        (dict(latent_dim=2, order=1, Phi_l1=-1.0), "Received: Phi_l1=-1.0"),
        (
            dict(latent_dim=2, order=1, Phi_sizes=5),
            "expected a sequence of positive integers (hidden layer widths), "
            "e.g. [5] for one layer. Received: Phi_sizes=5",
        ),
        (dict(latent_dim=2, order=1, F_sizes=3.0), "Received: F_sizes=3.0"),
        (
            dict(latent_dim=200, order=6, Phi_sizes=[2], F_sizes=[2]),
            "latent_dim=200 and order=6 give C(L + k, k) - 1 = 98619368490 moments, "
            "more than the limit of 1000000",
        ),
    ],
)
def test_build_moment_efn_invalid_arguments_raise(arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_moment_efn(**arguments)


@pytest.mark.parametrize(("order", "latent_max"), [(1, 128), (2, 64), (3, 32), (4, 16)])
def test_sample_architectures_spread_in_log_count(order, latent_max):
    draws = sample_architectures(order, 200, latent_max=latent_max, seed=7)
    assert len(draws) == 200
    counts = np.array([draw["n_params"] for draw in draws])
    smallest = count_moment_efn_params(1, order, (1, 1, 1), (1, 1, 1))
    largest = count_moment_efn_params(
        latent_max, order, (128, 128, 128), (128, 128, 128)
    )
    assert counts.min() >= smallest
    assert counts.max() <= largest
    # Each fifth of the log range contains about 40 of 200 draws if log counts
    # are uniform. Uniform draws from the grid would put nearly all in the top.
    edges = np.linspace(math.log(smallest), math.log(largest), 6)
    per_bin = np.histogram(np.log(counts), bins=edges)[0]
    assert per_bin.min() >= 20, per_bin
    assert per_bin.max() <= 65, per_bin


def test_sample_architectures_bounds_and_counts():
    draws = sample_architectures(2, 50, latent_max=10, width_max=20, seed=3)
    for draw in draws:
        assert set(draw) == {"Phi_width", "F_width", "latent_dim", "n_params"}
        assert 1 <= draw["Phi_width"] <= 20
        assert 1 <= draw["F_width"] <= 20
        assert 1 <= draw["latent_dim"] <= 10
        width_Phi, width_F = (draw["Phi_width"],) * 3, (draw["F_width"],) * 3
        assert draw["n_params"] == count_moment_efn_params(
            draw["latent_dim"], 2, width_Phi, width_F
        )


def test_sample_architectures_linear_f():
    draws = sample_architectures(
        3, 40, latent_max=8, width_max=16, seed=5, linear_F=True
    )
    for draw in draws:
        assert draw["F_width"] == 1
        assert draw["n_params"] == count_moment_efn_params(
            draw["latent_dim"], 3, (draw["Phi_width"],) * 3, (), linear_F=True
        )


def test_sample_architectures_deterministic_for_seed():
    first = sample_architectures(2, 25, latent_max=64, seed=11)
    again = sample_architectures(2, 25, latent_max=64, seed=11)
    other = sample_architectures(2, 25, latent_max=64, seed=12)
    assert first == again
    assert first != other


@pytest.mark.parametrize(
    "arguments",
    [
        dict(order=0, n_draws=5, latent_max=4, seed=0),
        dict(order=1, n_draws=0, latent_max=4, seed=0),
        dict(order=1, n_draws=5, latent_max=0, seed=0),
        dict(order=1, n_draws=5, latent_max=4, width_max=0, seed=0),
    ],
)
def test_sample_architectures_invalid_arguments_raise(arguments):
    with pytest.raises(ValueError, match="expected a positive integer"):
        sample_architectures(**arguments)


def test_count_moment_efn_params_too_many_moments_raises():
    with pytest.raises(ValueError, match="Lower latent_dim or order"):
        count_moment_efn_params(200, 6, (2,), (2,))


@pytest.mark.parametrize(
    ("order", "latent_dim"), [(1, 128), (2, 64), (3, 32), (4, 16), (1, 10**6)]
)
def test_count_moment_efn_params_config_sizes_allowed(order, latent_dim):
    """The largest (k, L) of config/paper.yaml, and L = 10^6 at k = 1, pass."""
    assert count_moment_efn_params(latent_dim, order, (2,), (2,)) > 0
