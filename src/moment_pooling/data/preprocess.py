"""Preprocess jets for the Moment-EFN: energy fractions and centred (y, phi).

Per jet, z_i = pT_i / sum_j pT_j, and (y_i, phi_i) are shifted so that the
pT-weighted mean (sum_i z_i y_i, sum_i z_i phi_i) is at the origin. Padded
particles (pT = 0) get z = 0 and (y, phi) = (0, 0). Everything is vectorised
over jets.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from moment_pooling.data.store import (
    StoreError,
    read_jets,
    validate_jets,
    write_preprocessed,
)

# float32 sums of a few hundred z values stay within about 1e-6 of 1.
Z_SUM_TOLERANCE = 1e-4


def center_jets(particles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``z`` (n, M) and centred ``yphi`` (n, M, 2), both float32.

    ``particles`` is (n, M, 4) with columns (pt, y, phi, pid) and zero
    padding. phi differences are taken modulo 2 pi relative to each jet's
    hardest particle, so a jet across phi = +-pi is centred correctly whether
    its phi values lie within pi of the jet axis or are wrapped to (-pi, pi].
    """
    if particles.ndim != 3 or particles.shape[2] < 3:
        raise ValueError(
            f"particles must have shape (n_jets, M, 4). Received: {particles.shape}"
        )
    pt = particles[:, :, 0].astype(np.float64)
    present = pt > 0
    total = pt.sum(axis=1)
    if (total <= 0).any():
        empty = np.flatnonzero(total <= 0)
        raise ValueError(
            f"{len(empty)} jets have no particles with pT > 0 (first index {empty[0]})."
        )
    z = pt / total[:, None]

    y = particles[:, :, 1].astype(np.float64)
    phi = particles[:, :, 2].astype(np.float64)
    reference_phi = phi[np.arange(len(phi)), np.argmax(pt, axis=1)][:, None]
    dphi = np.mod(phi - reference_phi + np.pi, 2 * np.pi) - np.pi

    y_centre = (z * y).sum(axis=1, keepdims=True)
    phi_centre = (z * dphi).sum(axis=1, keepdims=True)
    yphi = np.stack([y - y_centre, dphi - phi_centre], axis=-1)
    yphi[~present] = 0.0
    return z.astype(np.float32), yphi.astype(np.float32)


def validate_preprocessed(z: np.ndarray, yphi: np.ndarray, source: str) -> None:
    """Check that z sums to 1 per jet and that nothing is NaN; raise ``StoreError``."""
    for name, values in (("z", z), ("yphi", yphi)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise StoreError(
                f"Preprocessed jets from {source}: {name} contains "
                f"{int(bad.sum())} NaN or infinite values computed from finite "
                "particles. This is a bug in moment_pooling.data.preprocess."
            )
    deviation = np.abs(z.sum(axis=1, dtype=np.float64) - 1.0)
    if deviation.max(initial=0.0) > Z_SUM_TOLERANCE:
        raise StoreError(
            f"Preprocessed jets from {source}: z sums differ from 1 by up to "
            f"{deviation.max():.2e} (tolerance {Z_SUM_TOLERANCE})."
        )


def preprocess_store(
    jets_path: str | os.PathLike,
    out_path: str | os.PathLike,
    shuffle_seed: int,
    logger: logging.Logger | None = None,
) -> None:
    """Centre, normalise and shuffle the jets of a store into a preprocessed store.

    The shuffle is ``numpy.random.default_rng(shuffle_seed).permutation``, so
    the order of jets (and with it every train/val/test split) depends only
    on the seed and the input store.
    """
    logger = logger or logging.getLogger(__name__)
    jets = read_jets(jets_path)
    # Training needs both classes and finite inputs, so catch a bad store
    # here, where the message can name it, instead of in every training job.
    validate_jets(
        jets,
        f"store {jets_path}",
        next_step=(
            f"Delete {jets_path} and rerun the workflow rule that writes it "
            "(merge_shards for data.source pythia, download_energyflow for "
            "energyflow), which validates every shard or download."
        ),
    )
    z, yphi = center_jets(jets.particles)
    validate_preprocessed(z, yphi, str(jets_path))

    order = np.random.default_rng(shuffle_seed).permutation(jets.n_jets)
    write_preprocessed(
        out_path,
        z[order],
        yphi[order],
        jets.labels[order],
        {"shuffle_seed": shuffle_seed, "jets_store": str(jets_path)},
    )
    logger.info(
        "wrote %s: %d jets, %d quark, max %d particles",
        out_path,
        jets.n_jets,
        int(jets.labels.sum()),
        z.shape[1],
    )
