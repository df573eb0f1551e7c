"""Per-jet observables computed from preprocessed jets, vectorised over jets.

Every function takes ``z`` (jets, particles) and ``yphi`` (jets, particles, 2)
as in the preprocessed store: energy fractions and (y, phi) relative to the
pT-weighted jet centre, in radians. Each observable is a z-weighted sum over
particles, so zero-padded particles (z = 0) contribute nothing, and the
observables are infrared and collinear safe.
"""

from __future__ import annotations

import numpy as np

# phi(r) = ANALYTIC_CONSTANT + ANALYTIC_SCALE * log(r + ANALYTIC_OFFSET): the
# fixed radial function whose moments the analytic quark/gluon classifier uses
# (Gambhir, Osathapan, Thaler, arXiv:2403.08854).
ANALYTIC_CONSTANT = 1.0
ANALYTIC_SCALE = 0.5
ANALYTIC_OFFSET = 0.01


def _check_jets(z: np.ndarray, yphi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(z)
    yphi = np.asarray(yphi)
    if z.ndim != 2:
        raise ValueError(
            f"z must have shape (jets, particles). Received: z.shape={z.shape}"
        )
    if yphi.shape != (*z.shape, 2):
        raise ValueError(
            "yphi must have shape (jets, particles, 2) matching z. "
            f"Received: z.shape={z.shape}, yphi.shape={yphi.shape}"
        )
    return z.astype(np.float64), yphi.astype(np.float64)


def radial_distance(yphi: np.ndarray) -> np.ndarray:
    """Return r = sqrt(y^2 + phi^2) of each particle, shape ``yphi.shape[:-1]``."""
    yphi = np.asarray(yphi, dtype=np.float64)
    return np.hypot(yphi[..., 0], yphi[..., 1])


def angularity(z: np.ndarray, yphi: np.ndarray, beta: float) -> np.ndarray:
    """Compute the jet angularity lambda^(beta) = sum_i z_i r_i^beta of every jet.

    ``r_i = sqrt(y_i^2 + phi_i^2)`` is measured from the jet centre. ``beta``
    must be positive: at beta <= 0 the observable is not infrared and
    collinear safe, and r^beta diverges at r = 0. Returns float64, shape (jets,).
    """
    if not np.isfinite(beta) or beta <= 0:
        raise ValueError(
            "beta must be a positive finite number, because lambda^(beta) is "
            f"infrared and collinear safe only for beta > 0. Received: beta={beta}"
        )
    z, yphi = _check_jets(z, yphi)
    r_squared = np.sum(yphi**2, axis=-1)
    return np.sum(z * r_squared ** (beta / 2), axis=-1)


def angularities(z: np.ndarray, yphi: np.ndarray, betas) -> np.ndarray:
    """Compute lambda^(beta) for each beta in ``betas``: shape (jets, len(betas))."""
    betas = list(betas)
    if not betas:
        raise ValueError("betas must contain at least one exponent. Received: []")
    return np.stack([angularity(z, yphi, beta) for beta in betas], axis=-1)


def analytic_phi(r: np.ndarray) -> np.ndarray:
    """Evaluate phi(r) = 1 + 0.5 log(r + 0.01), finite for every r >= 0."""
    r = np.asarray(r, dtype=np.float64)
    return ANALYTIC_CONSTANT + ANALYTIC_SCALE * np.log(r + ANALYTIC_OFFSET)


def analytic_moments(z: np.ndarray, yphi: np.ndarray, n_moments: int = 4) -> np.ndarray:
    """Compute <phi^j> = sum_i z_i phi(r_i)^j for j = 1..n_moments of every jet.

    phi is :func:`analytic_phi`. Returns float64, shape (jets, n_moments),
    column j - 1 holding the j-th moment.
    """
    if isinstance(n_moments, bool) or not isinstance(n_moments, int | np.integer):
        raise TypeError(
            f"n_moments must be an integer. Received: n_moments={n_moments!r}"
        )
    if n_moments < 1:
        raise ValueError(
            f"n_moments must be at least 1. Received: n_moments={n_moments}"
        )
    z, yphi = _check_jets(z, yphi)
    phi = analytic_phi(radial_distance(yphi))
    powers = phi[..., None] ** np.arange(1, n_moments + 1)
    return np.einsum("jp,jpn->jn", z, powers)
