"""Tests of the EnergyFlow download: conversion of published arrays, offline failure."""

import time

import numpy as np
import pytest

from moment_pooling.data.download import (
    DownloadError,
    convert_energyflow,
    download_energyflow,
)
from moment_pooling.data.store import read_jets, validate_jets


def published_layout(n_jets=20, width=25, seed=0):
    """Jets as energyflow.qg_jets.load returns them: (n, M, 4) padded, float labels."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n_jets, width, 4))
    axis_phi = rng.uniform(0, 2 * np.pi, n_jets)
    axis_phi[0] = np.pi - 0.02  # particles on both sides of phi = pi
    for i in range(n_jets):
        m = rng.integers(3, width)
        pt = rng.exponential(1.0, m) + 0.05
        X[i, :m, 0] = pt / pt.sum() * 525.0
        X[i, :m, 1] = rng.uniform(-1.0, 1.0) + rng.normal(0, 0.05, m)
        X[i, :m, 2] = axis_phi[i] + rng.normal(0, 0.05, m)
        X[i, :m, 3] = rng.choice([22, 211, -211, 321, 2112], m)
    y = (np.arange(n_jets) % 2).astype(np.float64)
    return X, y


def test_convert_energyflow_jet_kinematics():
    X, y = published_layout()
    jets = convert_energyflow(X, y)
    masses = {22: 0.0, 211: 0.13957, 321: 0.493677, 2112: 0.939565}
    mass = np.vectorize(lambda pid: masses.get(abs(int(pid)), 0.0))(X[:, :, 3])
    mt = np.hypot(X[:, :, 0], mass) * (X[:, :, 0] > 0)
    energy = (mt * np.cosh(X[:, :, 1])).sum(axis=1)
    pz = (mt * np.sinh(X[:, :, 1])).sum(axis=1)
    px = (X[:, :, 0] * np.cos(X[:, :, 2])).sum(axis=1)
    py = (X[:, :, 0] * np.sin(X[:, :, 2])).sum(axis=1)

    np.testing.assert_allclose(jets.jet_pt, np.hypot(px, py), rtol=1e-9)
    np.testing.assert_allclose(
        jets.jet_y, 0.5 * np.log((energy + pz) / (energy - pz)), rtol=1e-4
    )
    np.testing.assert_allclose(
        np.cos(jets.jet_phi - np.arctan2(py, px)), 1.0, atol=1e-9
    )
    assert jets.labels.dtype == np.int64
    np.testing.assert_array_equal(jets.labels, y)


def test_convert_energyflow_phi_on_particle_branch():
    X, y = published_layout()
    jets = convert_energyflow(X, y)
    # The jet near phi = pi keeps phi > 0 like its particles, not the -pi branch.
    assert abs(jets.jet_phi[0] - (np.pi - 0.02)) < 0.1
    validate_jets(jets, "published layout")


def test_convert_energyflow_trims_padding():
    X, y = published_layout(width=25)
    X = np.pad(X, ((0, 0), (0, 10), (0, 0)))
    jets = convert_energyflow(X, y)
    assert jets.particles.shape[1] == jets.multiplicity.max()
    assert jets.particles.dtype == np.float32


def test_convert_energyflow_bad_shape_raises():
    with pytest.raises(
        ValueError, match=r"X must have shape \(n_jets, M, 4\).*\(5, 3\)"
    ):
        convert_energyflow(np.zeros((5, 3)), np.zeros(5))


def test_download_energyflow_offline_fails_fast_and_cleanly(tmp_path):
    cache_dir = tmp_path / "resources" / "energyflow"
    out_path = tmp_path / "results" / "jets.h5"
    start = time.perf_counter()
    with pytest.raises(DownloadError) as error:
        download_energyflow(1000, cache_dir, out_path, timeout_s=5)
    elapsed = time.perf_counter() - start

    message = str(error.value)
    assert "Download of the EnergyFlow quark/gluon sample failed" in message
    assert "`data: source: pythia`" in message
    # With no network the name lookup fails at once; a stalled connection would
    # end after timeout_s per source (two sources).
    assert elapsed < 15
    assert not out_path.exists()
    assert not cache_dir.exists()
    assert list(tmp_path.rglob("*")) == []


def test_download_energyflow_offline_keeps_existing_cache(tmp_path):
    cache_dir = tmp_path / "cache"
    (cache_dir / "datasets").mkdir(parents=True)
    kept = cache_dir / "datasets" / "other.npz"
    kept.write_bytes(b"cached")
    with pytest.raises(DownloadError):
        download_energyflow(1000, cache_dir, tmp_path / "jets.h5", timeout_s=5)
    assert sorted(p.name for p in (cache_dir / "datasets").iterdir()) == ["other.npz"]
    assert kept.read_bytes() == b"cached"


def test_download_energyflow_invalid_count_raises(tmp_path):
    with pytest.raises(ValueError, match="num_jets=0"):
        download_energyflow(0, tmp_path, tmp_path / "jets.h5")


def test_converted_store_round_trip(tmp_path):
    from moment_pooling.data.store import write_jets

    X, y = published_layout()
    write_jets(tmp_path / "jets.h5", convert_energyflow(X, y), {"source": "energyflow"})
    stored = read_jets(tmp_path / "jets.h5")
    np.testing.assert_allclose(
        stored.particles, X[:, : stored.particles.shape[1]].astype(np.float32)
    )
