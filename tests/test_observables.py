import math

import numpy as np
import pytest

from moment_pooling.observables import (
    analytic_moments,
    analytic_phi,
    angularities,
    angularity,
    radial_distance,
)


def random_jets(n_jets=7, n_particles=12, seed=0):
    """Random jets with between 1 and n_particles real particles, zero padded."""
    rng = np.random.default_rng(seed)
    z = np.zeros((n_jets, n_particles), dtype=np.float32)
    yphi = np.zeros((n_jets, n_particles, 2), dtype=np.float32)
    for jet in range(n_jets):
        n_real = rng.integers(1, n_particles + 1)
        weights = rng.random(n_real)
        z[jet, :n_real] = weights / weights.sum()
        yphi[jet, :n_real] = rng.normal(scale=0.15, size=(n_real, 2))
    return z, yphi


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0, 3.0, 4.0])
def test_angularity_matches_particle_loop(beta):
    z, yphi = random_jets()
    expected = np.zeros(len(z))
    for jet in range(len(z)):
        for particle in range(z.shape[1]):
            y, phi = float(yphi[jet, particle, 0]), float(yphi[jet, particle, 1])
            expected[jet] += (
                float(z[jet, particle]) * math.sqrt(y * y + phi * phi) ** beta
            )
    np.testing.assert_allclose(angularity(z, yphi, beta), expected, rtol=1e-12)


def test_angularity_known_value():
    # Two particles at r = 0.3 (3-4-5 triangle scaled by 0.06) and r = 0.
    z = np.array([[0.25, 0.75]])
    yphi = np.array([[[0.18, 0.24], [0.0, 0.0]]])
    assert angularity(z, yphi, 2.0)[0] == pytest.approx(0.25 * 0.09)
    assert angularity(z, yphi, 1.0)[0] == pytest.approx(0.25 * 0.3)


def test_angularity_beta2_is_second_moment_sum():
    z, yphi = random_jets(seed=3)
    second_moments = np.einsum("jp,jpc->j", z.astype(float), yphi.astype(float) ** 2)
    np.testing.assert_allclose(angularity(z, yphi, 2.0), second_moments, rtol=1e-12)


def test_angularity_ignores_padded_particles():
    z, yphi = random_jets(n_particles=8, seed=1)
    padded_z = np.concatenate([z, np.zeros((len(z), 5), np.float32)], axis=1)
    # Padding with nonzero angles must still contribute nothing, because z = 0.
    junk_angles = np.full((len(z), 5, 2), 0.9, np.float32)
    padded_yphi = np.concatenate([yphi, junk_angles], axis=1)
    np.testing.assert_allclose(
        angularity(padded_z, padded_yphi, 1.5), angularity(z, yphi, 1.5), rtol=1e-12
    )


def test_angularity_infrared_safe():
    z, yphi = random_jets(n_particles=6, seed=2)
    soft_z = np.concatenate([z, np.zeros((len(z), 1), np.float32)], axis=1)
    soft_yphi = np.concatenate(
        [yphi, np.full((len(z), 1, 2), 0.35, np.float32)], axis=1
    )
    np.testing.assert_allclose(
        angularity(soft_z, soft_yphi, 2.0), angularity(z, yphi, 2.0), rtol=1e-12
    )


def test_angularity_collinear_safe():
    z, yphi = random_jets(n_particles=6, seed=4)
    # Split particle 0 of every jet into two collinear halves.
    split_z = np.concatenate([z, z[:, :1] / 2], axis=1)
    split_z[:, 0] /= 2
    split_yphi = np.concatenate([yphi, yphi[:, :1]], axis=1)
    for beta in (0.5, 2.0):
        np.testing.assert_allclose(
            angularity(split_z, split_yphi, beta), angularity(z, yphi, beta), rtol=1e-6
        )


def test_angularity_permutation_invariant():
    z, yphi = random_jets(seed=5)
    order = np.random.default_rng(0).permutation(z.shape[1])
    np.testing.assert_allclose(
        angularity(z[:, order], yphi[:, order], 1.0),
        angularity(z, yphi, 1.0),
        rtol=1e-12,
    )


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf")])
def test_angularity_rejects_invalid_beta(beta):
    z, yphi = random_jets()
    with pytest.raises(ValueError, match="beta must be a positive"):
        angularity(z, yphi, beta)


def test_angularity_rejects_mismatched_shapes():
    z, yphi = random_jets()
    with pytest.raises(ValueError, match="yphi must have shape"):
        angularity(z, yphi[:, :-1], 2.0)
    with pytest.raises(ValueError, match="z must have shape"):
        angularity(z[0], yphi[0], 2.0)


def test_angularities_stacks_betas():
    z, yphi = random_jets()
    table = angularities(z, yphi, [0.5, 2.0])
    assert table.shape == (len(z), 2)
    np.testing.assert_array_equal(table[:, 1], angularity(z, yphi, 2.0))
    with pytest.raises(ValueError, match="at least one"):
        angularities(z, yphi, [])


def test_radial_distance_known_value():
    assert radial_distance(np.array([3.0, 4.0])) == pytest.approx(5.0)


def test_analytic_phi_known_values():
    assert analytic_phi(0.0) == pytest.approx(1 + 0.5 * math.log(0.01))
    assert analytic_phi(0.99) == pytest.approx(1.0)
    assert np.isfinite(analytic_phi(np.zeros(3))).all()


def test_analytic_moments_match_particle_loop():
    z, yphi = random_jets(seed=6)
    expected = np.zeros((len(z), 4))
    for jet in range(len(z)):
        for particle in range(z.shape[1]):
            y, phi = float(yphi[jet, particle, 0]), float(yphi[jet, particle, 1])
            value = 1 + 0.5 * math.log(math.sqrt(y * y + phi * phi) + 0.01)
            for power in range(1, 5):
                expected[jet, power - 1] += float(z[jet, particle]) * value**power
    np.testing.assert_allclose(analytic_moments(z, yphi, 4), expected, rtol=1e-10)


def test_analytic_moments_single_particle_jet():
    # One particle at the centre: every moment is phi(0)^j.
    z = np.array([[1.0, 0.0]])
    yphi = np.zeros((1, 2, 2))
    phi0 = 1 + 0.5 * math.log(0.01)
    np.testing.assert_allclose(
        analytic_moments(z, yphi, 3)[0], [phi0, phi0**2, phi0**3], rtol=1e-12
    )


def test_analytic_moments_ignore_padded_particles():
    z, yphi = random_jets(n_particles=9, seed=7)
    padded_z = np.concatenate([z, np.zeros((len(z), 4), np.float32)], axis=1)
    padded_yphi = np.concatenate([yphi, np.zeros((len(z), 4, 2), np.float32)], axis=1)
    np.testing.assert_allclose(
        analytic_moments(padded_z, padded_yphi), analytic_moments(z, yphi), rtol=1e-12
    )


def test_analytic_moments_collinear_safe():
    z, yphi = random_jets(n_particles=5, seed=8)
    split_z = np.concatenate([z, z[:, 1:2] / 2], axis=1)
    split_z[:, 1] /= 2
    split_yphi = np.concatenate([yphi, yphi[:, 1:2]], axis=1)
    np.testing.assert_allclose(
        analytic_moments(split_z, split_yphi), analytic_moments(z, yphi), rtol=1e-6
    )


@pytest.mark.parametrize(
    ("n_moments", "error"), [(0, ValueError), (2.0, TypeError), (True, TypeError)]
)
def test_analytic_moments_rejects_invalid_count(n_moments, error):
    z, yphi = random_jets()
    with pytest.raises(error, match="n_moments"):
        analytic_moments(z, yphi, n_moments)
