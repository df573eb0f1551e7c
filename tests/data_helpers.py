"""Synthetic jets in the store layout, built with numpy, for data-layer tests."""

import numpy as np

from moment_pooling.data.store import JetArrays


def synthetic_jets(n_jets=40, width=30, seed=0, axis_phi=None):
    """Return jets that pass the cuts: photons around an axis, labels alternating.

    Particle pT values are scaled so that the scalar sum is in [505, 545] GeV;
    ``jet_pt`` is the vector sum, which stays inside [500, 550] GeV because
    every particle lies within 0.3 of the axis.
    """
    rng = np.random.default_rng(seed)
    multiplicity = rng.integers(5, width + 1, size=n_jets)
    multiplicity[0] = width
    particles = np.zeros((n_jets, width, 4), dtype=np.float32)
    jet_y = rng.uniform(-1.5, 1.5, n_jets)
    if axis_phi is None:
        axis_phi = rng.uniform(-np.pi, np.pi, n_jets)
    target = rng.uniform(520, 540, n_jets)
    for i, m in enumerate(multiplicity):
        pt = rng.exponential(1.0, m) + 0.01
        particles[i, :m, 0] = pt / pt.sum() * target[i]
        particles[i, :m, 1] = jet_y[i] + rng.uniform(-0.1, 0.1, m)
        particles[i, :m, 2] = axis_phi[i] + rng.uniform(-0.1, 0.1, m)
        particles[i, :m, 3] = 22
    pt, phi = (
        particles[:, :, 0].astype(np.float64),
        particles[:, :, 2].astype(np.float64),
    )
    px, py = (pt * np.cos(phi)).sum(axis=1), (pt * np.sin(phi)).sum(axis=1)
    labels = np.arange(n_jets) % 2
    return JetArrays(
        particles=particles,
        labels=labels.astype(np.int64),
        jet_pt=np.hypot(px, py),
        jet_y=jet_y,
        jet_phi=axis_phi
        + np.mod(np.arctan2(py, px) - axis_phi + np.pi, 2 * np.pi)
        - np.pi,
    )
