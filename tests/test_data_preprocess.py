"""Tests of jet centring, energy fractions and the preprocessed store."""

import h5py
import numpy as np
import pytest

from data_helpers import synthetic_jets
from moment_pooling.data.preprocess import center_jets, preprocess_store
from moment_pooling.data.store import StoreError, write_jets


def jet_across_pi(phis):
    """One jet of three particles (pt 300, 150, 50 GeV) at the given phi values."""
    particles = np.zeros((1, 5, 4), dtype=np.float32)
    particles[0, :3, 0] = [300.0, 150.0, 50.0]
    particles[0, :3, 1] = [0.5, 0.6, 0.3]
    particles[0, :3, 2] = phis
    particles[0, :3, 3] = [211, 22, -211]
    return particles


def expected_yphi():
    pt = np.array([300.0, 150.0, 50.0])
    y = np.array([0.5, 0.6, 0.3])
    dphi = np.array([0.0, 0.15, -0.1])  # offsets from the hardest particle
    z = pt / pt.sum()
    return np.stack([y - z @ y, dphi - z @ dphi], axis=-1)


@pytest.mark.parametrize(
    "phis",
    [
        [np.pi - 0.05, np.pi + 0.10, np.pi - 0.15],  # within pi of an axis near +pi
        [np.pi - 0.05, -np.pi + 0.10, np.pi - 0.15],  # wrapped to (-pi, pi]
        [-np.pi - 0.05, -np.pi + 0.10, -np.pi - 0.15],  # within pi of an axis near -pi
    ],
)
def test_center_jets_across_phi_boundary(phis):
    z, yphi = center_jets(jet_across_pi(phis))
    np.testing.assert_allclose(yphi[0, :3], expected_yphi(), atol=1e-5)
    assert np.abs(yphi[0, :3, 1]).max() < 0.2


def test_center_jets_weighted_mean_is_zero():
    jets = synthetic_jets(n_jets=25)
    z, yphi = center_jets(jets.particles)
    assert z.dtype == np.float32
    assert yphi.dtype == np.float32
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose((z[:, :, None] * yphi).sum(axis=1), 0.0, atol=1e-6)


def test_center_jets_padding_is_zero():
    jets = synthetic_jets(n_jets=25)
    z, yphi = center_jets(jets.particles)
    padded = jets.particles[:, :, 0] == 0
    assert padded.any()
    assert not z[padded].any()
    assert not yphi[padded].any()


def test_center_jets_z_is_pt_fraction():
    particles = jet_across_pi([0.1, 0.2, 0.3])
    z, _ = center_jets(particles)
    np.testing.assert_allclose(z[0], [0.6, 0.3, 0.1, 0.0, 0.0], atol=1e-7)


def test_center_jets_empty_jet_raises():
    particles = jet_across_pi([0.1, 0.2, 0.3])
    particles = np.concatenate([particles, np.zeros_like(particles)])
    with pytest.raises(
        ValueError, match=r"1 jets have no particles with pT > 0 \(first index 1\)"
    ):
        center_jets(particles)


def test_preprocess_store_shuffles_deterministically(tmp_path):
    jets = synthetic_jets(n_jets=60)
    write_jets(tmp_path / "jets.h5", jets, {})
    preprocess_store(tmp_path / "jets.h5", tmp_path / "a.h5", shuffle_seed=1)
    preprocess_store(tmp_path / "jets.h5", tmp_path / "b.h5", shuffle_seed=1)
    preprocess_store(tmp_path / "jets.h5", tmp_path / "c.h5", shuffle_seed=2)
    with (
        h5py.File(tmp_path / "a.h5") as a,
        h5py.File(tmp_path / "b.h5") as b,
        h5py.File(tmp_path / "c.h5") as c,
    ):
        np.testing.assert_array_equal(a["z"][:], b["z"][:])
        np.testing.assert_array_equal(a["yphi"][:], b["yphi"][:])
        assert not np.array_equal(a["z"][:], c["z"][:])
        labels = a["labels"][:]
        z = a["z"][:]
        assert a["z"].dtype == np.float32
        assert a["yphi"].shape == (60, 30, 2)
    # The input alternates quark, gluon; shuffled labels must not.
    assert not np.array_equal(labels, jets.labels)
    assert labels.sum() == jets.labels.sum()
    np.testing.assert_allclose(z.sum(axis=1), 1.0, atol=1e-6)


def test_preprocess_store_keeps_jets_with_their_labels(tmp_path):
    jets = synthetic_jets(n_jets=30)
    write_jets(tmp_path / "jets.h5", jets, {})
    preprocess_store(tmp_path / "jets.h5", tmp_path / "pre.h5", shuffle_seed=3)
    order = np.random.default_rng(3).permutation(30)
    z, _ = center_jets(jets.particles)
    with h5py.File(tmp_path / "pre.h5") as handle:
        np.testing.assert_array_equal(handle["z"][:], z[order])
        np.testing.assert_array_equal(handle["labels"][:], jets.labels[order])


def assert_preprocess_rejects(tmp_path, message_pattern):
    """Check that preprocessing jets.h5 raises StoreError and writes no output."""
    with pytest.raises(StoreError, match=message_pattern):
        preprocess_store(tmp_path / "jets.h5", tmp_path / "pre.h5", shuffle_seed=0)
    assert not (tmp_path / "pre.h5").exists()


def test_preprocess_store_corrupt_input_raises(tmp_path):
    (tmp_path / "jets.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    assert_preprocess_rejects(tmp_path, "jets.h5 is not a readable HDF5 file")


def test_preprocess_store_single_class_raises(tmp_path):
    jets = synthetic_jets(n_jets=30)
    jets.labels[:] = 1
    write_jets(tmp_path / "jets.h5", jets, {}, require_both_classes=False)
    assert_preprocess_rejects(
        tmp_path,
        r"store .*jets.h5 failed validation: no gluon jets \(label 0\)\. "
        r"Delete .*jets.h5 and rerun .*merge_shards",
    )


def test_preprocess_store_nan_particles_raises(tmp_path):
    write_jets(tmp_path / "jets.h5", synthetic_jets(n_jets=30), {})
    with h5py.File(tmp_path / "jets.h5", "a") as handle:
        handle["particles"][5, 0, 0] = np.nan
    assert_preprocess_rejects(
        tmp_path,
        r"store .*jets.h5 failed validation: dataset 'particles' contains 1 "
        r"NaN or infinite values \(first in jet 5\)\. Delete .*jets.h5 and rerun",
    )
