"""Download the published EnergyFlow quark/gluon sample and convert it to a jet store.

``energyflow.qg_jets.load`` (energyflow 1.4.0) fetches files of 100k jets
from Zenodo, or from Dropbox as a fallback, checks their SHA-256 and caches
them under ``<cache_dir>/datasets``. The Pythia 8.226 sample without c and b
quarks is used (``generator="pythia"``, ``with_bc=False``), with particles as
padded (pt, y, phi, pid) and labels quark = 1, gluon = 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from pathlib import Path

import numpy as np

from moment_pooling.data.store import JetArrays, write_jets

# energyflow downloads with urllib's urlretrieve, which has no timeout of its
# own, so a dead network would hang on the socket default (no timeout).
DEFAULT_TIMEOUT_S = 30.0


class DownloadError(RuntimeError):
    """The EnergyFlow sample could not be downloaded."""


def convert_energyflow(X: np.ndarray, y: np.ndarray) -> JetArrays:
    """Convert padded (pt, y, phi, pid) jets and labels to the store layout.

    The jet four-momentum is the sum of the particles' four-momenta, with
    masses taken from the PDG ids (``energyflow.p4s_from_ptyphipids``). The
    jet phi is expressed within pi of the hardest particle, so it lies on the
    same branch as the particles' phi values.
    """
    import energyflow

    if X.ndim != 3 or X.shape[2] != 4:
        raise ValueError(
            f"X must have shape (n_jets, M, 4) with columns (pt, y, phi, pid). "
            f"Received: {X.shape}"
        )
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must have shape ({X.shape[0]},) to match X. Received: {y.shape}"
        )
    p4s = energyflow.p4s_from_ptyphipids(X.astype(np.float64), error_on_unknown=True)
    energy, px, py, pz = np.moveaxis(p4s.sum(axis=1), -1, 0)

    pt = X[:, :, 0]
    reference_phi = X[np.arange(len(X)), np.argmax(pt, axis=1), 2]
    jet_phi = np.mod(np.arctan2(py, px) - reference_phi + np.pi, 2 * np.pi) - np.pi
    jets = JetArrays(
        particles=X.astype(np.float32),
        labels=np.rint(y).astype(np.int64),
        jet_pt=np.hypot(px, py),
        jet_y=0.5 * np.log((energy + pz) / (energy - pz)),
        jet_phi=reference_phi + jet_phi,
    )
    # Trim columns that are padding in every jet.
    return JetArrays(
        particles=jets.particles[:, : int(jets.multiplicity.max(initial=0))],
        labels=jets.labels,
        jet_pt=jets.jet_pt,
        jet_y=jets.jet_y,
        jet_phi=jets.jet_phi,
    )


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _remove_new_files(directory: Path, before: set[Path], created: list[Path]) -> None:
    """Delete files new in ``directory`` and the folders the download created."""
    if directory.is_dir():
        for path in directory.iterdir():
            if path not in before and path.is_file():
                path.unlink()
    for folder in created:
        with contextlib.suppress(OSError):  # not empty: keep it
            folder.rmdir()


def fetch_energyflow(
    num_jets: int,
    cache_dir: str | os.PathLike,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    logger: logging.Logger | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``X, y`` of the first ``num_jets`` jets, downloading files as needed.

    Raises ``DownloadError`` when a file cannot be fetched. Files that the
    failed call created in the cache, and cache folders it created, are
    removed, so a later run starts clean.
    """
    import energyflow

    if num_jets < 1:
        raise ValueError(
            f"num_jets must be a positive integer. Received: num_jets={num_jets}"
        )
    logger = logger or logging.getLogger(__name__)
    cache_dir = Path(cache_dir).resolve()
    datasets_dir = cache_dir / "datasets"  # energyflow appends "datasets"
    # Folders that energyflow's makedirs will create, innermost first.
    created = [p for p in (datasets_dir, *datasets_dir.parents) if not p.exists()]
    before = set(datasets_dir.iterdir()) if datasets_dir.is_dir() else set()

    logger.info("loading %d EnergyFlow jets with cache %s", num_jets, cache_dir)
    try:
        # energyflow prints its progress and errors; send them to the log.
        with _socket_timeout(timeout_s), contextlib.redirect_stdout(sys.stderr):
            X, y = energyflow.qg_jets.load(
                num_jets,
                pad=True,
                ncol=4,
                generator="pythia",
                with_bc=False,
                cache_dir=str(cache_dir),
            )
    except Exception as error:
        _remove_new_files(datasets_dir, before, created)
        raise DownloadError(
            f"Download of the EnergyFlow quark/gluon sample failed ({error}). It "
            "needs internet access to zenodo.org or dropbox.com. To generate jets "
            "locally instead, set `data: source: pythia` in the config "
            "(config/config.yaml or the file passed with --configfile)."
        ) from error
    return X, y


def download_energyflow(
    num_jets: int,
    cache_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    max_particles: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    logger: logging.Logger | None = None,
) -> dict:
    """Download ``num_jets`` EnergyFlow jets and write them as a validated jet store.

    Returns the store summary (also written beside the store).
    """
    from importlib.metadata import version

    X, y = fetch_energyflow(num_jets, cache_dir, timeout_s, logger)
    jets = convert_energyflow(X, y)
    attrs = {
        "source": "energyflow",
        "num_jets": num_jets,
        "energyflow_version": version("energyflow"),
        "sample": "energyflow.qg_jets pythia, with_bc=False "
        "(Pythia 8.226, FastJet 3.3.0)",
    }
    return write_jets(out_path, jets, attrs, max_particles=max_particles)
