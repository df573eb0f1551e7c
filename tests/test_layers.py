"""Tests of the MomentPooling layer against brute-force moments."""

import json
import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from moment_pooling.layers import MomentPooling, moment_multisets


def brute_force_moments(z, Phi, order):
    """Moments of orders 1..order in float64, one explicit product per multiset."""
    z = np.asarray(z, dtype="float64")
    Phi = np.asarray(Phi, dtype="float64")
    columns = []
    for multiset in moment_multisets(Phi.shape[-1], order):
        product = np.prod(Phi[..., list(multiset)], axis=-1)
        columns.append(np.einsum("bm,bm->b", z, product))
    return np.stack(columns, axis=-1)


def random_inputs(rng, batch=4, particles=9, latent_dim=3):
    z = rng.random((batch, particles))
    z /= z.sum(axis=1, keepdims=True)
    Phi = rng.normal(size=(batch, particles, latent_dim))
    return z.astype("float32"), Phi.astype("float32")


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("latent_dim", [1, 2, 3, 4, 5])
def test_moment_pooling_matches_brute_force(order, latent_dim):
    rng = np.random.default_rng(100 * order + latent_dim)
    z, Phi = random_inputs(rng, latent_dim=latent_dim)
    output = keras.ops.convert_to_numpy(MomentPooling(order)([z, Phi]))
    expected = brute_force_moments(z, Phi, order)
    assert output.shape == (4, math.comb(latent_dim + order, order) - 1)
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-5)


def assert_matches_brute_force(order, latent_dim, seed):
    """Compare the layer with the numpy moments on 3 jets of 7 particles."""
    rng = np.random.default_rng(seed)
    z, Phi = random_inputs(rng, batch=3, particles=7, latent_dim=latent_dim)
    output = keras.ops.convert_to_numpy(MomentPooling(order)([z, Phi]))
    expected = brute_force_moments(z, Phi, order)
    assert output.shape == expected.shape
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("latent_dim", [8, 9, 13])
def test_moment_pooling_several_groups_match_brute_force(order, latent_dim):
    # Latent dimensions above 4 split the contraction into several index
    # groups, of unequal sizes for 13.
    assert_matches_brute_force(order, latent_dim, seed=10 * order + latent_dim)


@pytest.mark.parametrize(("order", "latent_dim"), [(5, 2), (5, 6), (6, 5)])
def test_moment_pooling_orders_above_four(order, latent_dim):
    assert_matches_brute_force(order, latent_dim, seed=30 * order + latent_dim)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_moment_pooling_gradients_match_explicit_products(order):
    latent_dim = 9
    rng = np.random.default_rng(20 + order)
    z, Phi = random_inputs(rng, batch=3, particles=7, latent_dim=latent_dim)
    z, Phi = tf.constant(z, "float64"), tf.constant(Phi, "float64")
    multisets = moment_multisets(latent_dim, order)
    weights = tf.constant(rng.normal(size=(len(multisets),)), "float64")
    layer = MomentPooling(order, dtype="float64")

    with tf.GradientTape(persistent=True) as tape:
        tape.watch([z, Phi])
        pooled = tf.reduce_sum(layer([z, Phi]) * weights)
        columns = [
            tf.einsum("bm,bm->b", z, tf.reduce_prod(tf.gather(Phi, m, axis=-1), -1))
            for m in multisets
        ]
        explicit = tf.reduce_sum(tf.stack(columns, axis=-1) * weights)
    for variable in (z, Phi):
        np.testing.assert_allclose(
            tape.gradient(pooled, variable).numpy(),
            tape.gradient(explicit, variable).numpy(),
            rtol=1e-10,
            atol=1e-12,
        )


def test_moment_pooling_order_one_is_energy_weighted_sum():
    rng = np.random.default_rng(1)
    z, Phi = random_inputs(rng, latent_dim=6)
    output = keras.ops.convert_to_numpy(MomentPooling(1)([z, Phi]))
    np.testing.assert_allclose(
        output, np.einsum("bm,bma->ba", z, Phi), rtol=1e-5, atol=1e-6
    )


def test_moment_pooling_ignores_padded_particles():
    rng = np.random.default_rng(2)
    z, Phi = random_inputs(rng, particles=6, latent_dim=3)
    pad_Phi = rng.normal(scale=50.0, size=(4, 5, 3)).astype("float32")
    z_padded = np.concatenate([z, np.zeros((4, 5), "float32")], axis=1)
    Phi_padded = np.concatenate([Phi, pad_Phi], axis=1)
    layer = MomentPooling(4)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer([z_padded, Phi_padded])),
        keras.ops.convert_to_numpy(layer([z, Phi])),
        rtol=1e-5,
        atol=1e-6,
    )


def test_moment_pooling_permutation_invariant():
    rng = np.random.default_rng(3)
    z, Phi = random_inputs(rng, particles=11, latent_dim=4)
    permutation = rng.permutation(11)
    layer = MomentPooling(3)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer([z[:, permutation], Phi[:, permutation]])),
        keras.ops.convert_to_numpy(layer([z, Phi])),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_moment_pooling_gradients_reach_phi(order):
    rng = np.random.default_rng(4 + order)
    z, Phi = random_inputs(rng, latent_dim=3)
    Phi = tf.Variable(Phi)
    layer = MomentPooling(order)
    n_features = math.comb(3 + order, order) - 1
    for feature in range(n_features):
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(layer([z, Phi])[:, feature])
        gradient = tape.gradient(value, Phi).numpy()
        assert np.all(np.isfinite(gradient))
        assert np.any(gradient != 0), f"feature {feature} has zero gradient"

    # d<(Phi^0)^k>/dPhi^0_i = k z_i (Phi^0_i)^(k-1), and the feature (0, ..., 0)
    # of order k is the first one after all lower orders.
    first_top_feature = math.comb(3 + order - 1, order - 1) - 1
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(layer([z, Phi])[:, first_top_feature])
    gradient = tape.gradient(value, Phi).numpy()
    expected = order * z * Phi.numpy()[..., 0] ** (order - 1)
    np.testing.assert_allclose(gradient[..., 0], expected, rtol=1e-4, atol=1e-6)


def test_moment_multisets_order_and_count():
    assert moment_multisets(2, 2) == [(0,), (1,), (0, 0), (0, 1), (1, 1)]
    assert moment_multisets(3, 1) == [(0,), (1,), (2,)]
    for latent_dim in range(1, 7):
        for order in range(1, 5):
            multisets = moment_multisets(latent_dim, order)
            assert len(multisets) == math.comb(latent_dim + order, order) - 1
            assert len(set(multisets)) == len(multisets)
            assert all(list(m) == sorted(m) for m in multisets)
            keys = [(len(m), m) for m in multisets]
            assert keys == sorted(keys)


def test_moment_pooling_output_shape_and_config():
    layer = MomentPooling(3, name="pool")
    assert layer.compute_output_shape([(None, 7), (None, 7, 4)]) == (None, 34)
    config = layer.get_config()
    assert config["order"] == 3
    clone = MomentPooling.from_config(config)
    assert clone.order == 3
    assert clone.name == "pool"


@pytest.mark.parametrize("order", [0, -2, 1.5, "2", True, None])
def test_moment_pooling_invalid_order_raises(order):
    with pytest.raises(ValueError, match=f"Received: order={order!r}"):
        MomentPooling(order)


def test_moment_pooling_invalid_shapes_raise():
    z = np.ones((2, 5), "float32")
    with pytest.raises(ValueError, match="list"):
        MomentPooling(2)(np.ones((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="same number of particles"):
        MomentPooling(2)([z, np.ones((2, 6, 3), "float32")])
    with pytest.raises(
        ValueError, match=r"Phi of shape \(batch, particles, latent_dim\)"
    ):
        MomentPooling(2)([z, np.ones((2, 5), "float32")])


@pytest.mark.parametrize(("latent_dim", "order"), [(0, 2), (2, 0)])
def test_moment_multisets_invalid_arguments_raise(latent_dim, order):
    with pytest.raises(ValueError, match="expected a positive integer"):
        moment_multisets(latent_dim, order)


JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import keras
    import numpy as np
    from moment_pooling.layers import MomentPooling
    inputs = json.loads(sys.stdin.read())
    z = np.asarray(inputs["z"], "float32")
    Phi = np.asarray(inputs["Phi"], "float32")
    output = MomentPooling(inputs["order"])([z, Phi])
    print(json.dumps({"backend": keras.backend.backend(),
                      "output": np.asarray(output).tolist()}))
    """
)


def test_moment_pooling_runs_under_jax():
    pytest.importorskip("jax")
    rng = np.random.default_rng(5)
    z, Phi = random_inputs(rng, latent_dim=3)
    environment = {**os.environ, "KERAS_BACKEND": "jax"}
    result = subprocess.run(
        [sys.executable, "-c", JAX_SCRIPT],
        input=json.dumps({"z": z.tolist(), "Phi": Phi.tolist(), "order": 4}),
        capture_output=True,
        text=True,
        env=environment,
        check=True,
        timeout=120,
    )
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["backend"] == "jax"
    np.testing.assert_allclose(
        np.asarray(record["output"]),
        brute_force_moments(z, Phi, 4),
        rtol=1e-5,
        atol=1e-5,
    )
