"""HDF5 jet stores: validation, writing, merging and reading.

Jet store (``results/data/<source>/jets.h5``, also one per generation shard):

- ``particles`` (n_jets, max_particles, 4) float32: (pt [GeV], y, phi [rad],
  PDG id) per particle, zero padded, phi within pi of the jet axis;
- ``labels`` (n_jets,) int64: quark = 1, gluon = 0;
- ``jet_pt`` [GeV], ``jet_y``, ``jet_phi`` [rad] (n_jets,) float64;
- shards also hold ``pthat`` [GeV], the hard-process pT of each event;
- HDF5 attributes record seeds, settings and package versions; a shard's
  ``process`` attribute (quark or gluon) must match all of its labels.

A JSON summary is written beside every merged store (``jets_summary.json``).

Preprocessed store (``results/data/<source>/preprocessed.h5``): ``z``
(n_jets, max_particles) float32, ``yphi`` (n_jets, max_particles, 2) float32
and ``labels``, already shuffled (see ``moment_pooling.data.preprocess``).

Every reader turns a missing, truncated or non-HDF5 file and a missing
dataset into a ``StoreError`` that names the file and the fix.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from moment_pooling.data.selection import (
    JET_ABS_Y_MAX,
    JET_PT_MAX,
    JET_PT_MIN,
    LABELS,
)
from moment_pooling.io import atomic_path, write_json

JET_DATASETS = ("particles", "labels", "jet_pt", "jet_y", "jet_phi")
PREPROCESSED_DATASETS = ("z", "yphi", "labels")

# Tolerances of the cut checks: float32 particles summed to a jet, and
# rounding of the published sample, move jets by far less than these.
PT_TOLERANCE = 0.01  # GeV
Y_TOLERANCE = 1e-4
PHI_TOLERANCE = 1e-4  # rad

_COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


class StoreError(ValueError):
    """A jet store is missing, unreadable or fails validation."""


@dataclass
class JetArrays:
    """Jets in the store layout; ``extra`` contains optional per-jet datasets."""

    particles: np.ndarray
    labels: np.ndarray
    jet_pt: np.ndarray
    jet_y: np.ndarray
    jet_phi: np.ndarray
    extra: dict[str, np.ndarray] | None = None

    @property
    def n_jets(self) -> int:
        return len(self.labels)

    @property
    def multiplicity(self) -> np.ndarray:
        """Number of particles (non-zero pT) in each jet."""
        return (self.particles[:, :, 0] > 0).sum(axis=1)


def summary_path(store_path: str | os.PathLike) -> Path:
    """Return the summary path beside a store: ``jets.h5`` -> ``jets_summary.json``."""
    store_path = Path(store_path)
    return store_path.with_name(f"{store_path.stem}_summary.json")


def _rerun_hint(path: Path) -> str:
    return f"Delete {path} and rerun the workflow rule that writes it."


@contextlib.contextmanager
def open_store(path: str | os.PathLike) -> Iterator[h5py.File]:
    """Open an HDF5 store for reading, raising ``StoreError`` for unreadable files."""
    path = Path(path)
    if path.is_dir():
        raise StoreError(
            f"Store {path} is a directory, not an HDF5 file. Pass the store file, "
            "e.g. results/data/pythia/preprocessed.h5."
        )
    if not path.is_file():
        raise StoreError(
            f"Store {path} not found. Run the workflow rule that writes it, "
            "e.g. `snakemake --cores 2 <path>`."
        )
    if path.stat().st_size == 0:
        raise StoreError(
            f"Store {path} is an empty file, not a readable HDF5 file. "
            f"{_rerun_hint(path)}"
        )
    if not h5py.is_hdf5(path):
        raise StoreError(
            f"Store {path} is not an HDF5 file (it has no HDF5 signature). Pass "
            "an HDF5 store written by the workflow, e.g. "
            "results/data/pythia/jets.h5 or results/data/pythia/preprocessed.h5."
        )
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise StoreError(
            f"Store {path} is not a readable HDF5 file: it starts with the HDF5 "
            f"signature but cannot be opened, so it may be truncated by a killed "
            f"job ({error}). {_rerun_hint(path)}"
        ) from error
    with handle:
        yield handle


def read_dataset(
    handle: h5py.File, name: str, selection: slice | tuple = slice(None)
) -> np.ndarray:
    """Read ``handle[name][selection]``; raise ``StoreError`` if missing or corrupt."""
    path = Path(handle.filename)
    if name not in handle:
        raise StoreError(
            f"Store {path} has no dataset {name!r} (found: {sorted(handle)}). "
            f"{_rerun_hint(path)}"
        )
    try:
        return handle[name][selection]
    except (OSError, RuntimeError) as error:
        raise StoreError(
            f"Dataset {name!r} of store {path} could not be read ({error}). "
            f"{_rerun_hint(path)}"
        ) from error


def validate_jets(
    jets: JetArrays,
    source: str,
    *,
    require_both_classes: bool = True,
    max_particles: int | None = None,
    next_step: str | None = None,
) -> None:
    """Check shapes, NaNs, labels and jet cuts; raise ``StoreError`` naming ``source``.

    ``source`` names the shard or file in the message. ``max_particles``, when
    given, is the largest multiplicity allowed. ``next_step``, when given,
    ends every message about bad jets, e.g. how to rewrite the file.
    """

    def fail(check: str, *, with_next_step: bool = True) -> None:
        message = f"Jets from {source} failed validation: {check}."
        if next_step and with_next_step:
            message += f" {next_step}"
        raise StoreError(message)

    particles = jets.particles
    if particles.ndim != 3 or particles.shape[2] != 4:
        fail(f"particles must have shape (n_jets, M, 4), got {particles.shape}")
    n_jets = particles.shape[0]
    if n_jets == 0:
        fail("no jets")
    for name in ("labels", "jet_pt", "jet_y", "jet_phi"):
        values = getattr(jets, name)
        if values.shape != (n_jets,):
            fail(f"{name} must have shape ({n_jets},), got {values.shape}")
    for name, values in (jets.extra or {}).items():
        if len(values) != n_jets:
            fail(f"{name} must have {n_jets} entries, got {len(values)}")

    for name in JET_DATASETS:
        bad = ~np.isfinite(getattr(jets, name))
        if bad.any():
            first_jet = int(np.argwhere(bad)[0][0])
            fail(
                f"dataset {name!r} contains {int(bad.sum())} NaN or infinite "
                f"values (first in jet {first_jet})"
            )

    invalid = sorted(set(np.unique(jets.labels).tolist()) - set(LABELS.values()))
    if invalid:
        fail(f"labels must be 1 (quark) or 0 (gluon), found {invalid}")
    if require_both_classes:
        for name, label in LABELS.items():
            if not (jets.labels == label).any():
                fail(f"no {name} jets (label {label})")

    pt_out = (jets.jet_pt < JET_PT_MIN - PT_TOLERANCE) | (
        jets.jet_pt > JET_PT_MAX + PT_TOLERANCE
    )
    if pt_out.any():
        fail(
            f"{int(pt_out.sum())} jets have pT outside "
            f"[{JET_PT_MIN}, {JET_PT_MAX}] GeV "
            f"(range found: {jets.jet_pt.min():.3f} to {jets.jet_pt.max():.3f})"
        )
    y_out = np.abs(jets.jet_y) >= JET_ABS_Y_MAX + Y_TOLERANCE
    if y_out.any():
        fail(f"{int(y_out.sum())} jets have |y| >= {JET_ABS_Y_MAX}")

    pt = particles[:, :, 0]
    if (pt < 0).any():
        fail("particles with negative pT")
    multiplicity = jets.multiplicity
    if (multiplicity == 0).any():
        fail(f"{int((multiplicity == 0).sum())} jets have no particles")
    if max_particles is not None and multiplicity.max() > max_particles:
        fail(
            f"a jet has {int(multiplicity.max())} particles, more than "
            f"data.max_particles = {max_particles}; raise data.max_particles in the "
            "config or set it to null to pad to the largest multiplicity",
            with_next_step=False,
        )
    padded = pt == 0
    if np.abs(particles[padded]).max(initial=0.0) > 0:
        fail("padding entries (pT = 0) with non-zero y, phi or pid")
    dphi = np.abs(particles[:, :, 2] - jets.jet_phi[:, None])[~padded]
    if dphi.max(initial=0.0) > np.pi + PHI_TOLERANCE:
        fail("particles with phi more than pi away from the jet axis")


def summarize_jets(jets: JetArrays) -> dict:
    """Return counts, multiplicity statistics and kinematic ranges per class."""
    summary: dict = {
        "n_jets": jets.n_jets,
        "max_particles": int(jets.particles.shape[1]),
    }
    for name, label in LABELS.items():
        mask = jets.labels == label
        multiplicity = jets.multiplicity[mask]
        entry = {"count": int(mask.sum())}
        if mask.any():
            entry.update(
                multiplicity_mean=float(multiplicity.mean()),
                multiplicity_std=float(multiplicity.std()),
                multiplicity_max=int(multiplicity.max()),
                pt_min=float(jets.jet_pt[mask].min()),
                pt_max=float(jets.jet_pt[mask].max()),
                abs_y_min=float(np.abs(jets.jet_y[mask]).min()),
                abs_y_max=float(np.abs(jets.jet_y[mask]).max()),
            )
        summary[name] = entry
    return summary


def pad_particles(particles: np.ndarray, width: int) -> np.ndarray:
    """Zero-pad or trim the particle axis to ``width`` (trimming only padding)."""
    current = particles.shape[1]
    if current > width:
        if (particles[:, width:, 0] > 0).any():
            raise ValueError(
                f"Cannot trim particles to {width} entries: "
                "some jets have more particles."
            )
        return particles[:, :width]
    return np.pad(particles, ((0, 0), (0, width - current), (0, 0)))


def _write_attrs(handle: h5py.File, attrs: Mapping) -> None:
    for key, value in attrs.items():
        if isinstance(value, Mapping | list | tuple):
            value = json.dumps(value, sort_keys=True)
        handle.attrs[key] = value


def write_jets(
    path: str | os.PathLike,
    jets: JetArrays,
    attrs: Mapping,
    *,
    require_both_classes: bool = True,
    max_particles: int | None = None,
    with_summary: bool = True,
) -> dict:
    """Validate ``jets`` and write them atomically to an HDF5 store.

    ``max_particles`` sets the padded width; with None the width is the
    largest multiplicity. Nested attribute values are stored as JSON strings.
    Returns the summary, which is also written beside the store unless
    ``with_summary`` is False.
    """
    path = Path(path)
    validate_jets(
        jets,
        str(path),
        require_both_classes=require_both_classes,
        max_particles=max_particles,
    )
    width = max_particles if max_particles is not None else int(jets.multiplicity.max())
    particles = pad_particles(jets.particles.astype(np.float32), width)
    datasets = {
        "particles": particles,
        "labels": jets.labels.astype(np.int64),
        "jet_pt": jets.jet_pt.astype(np.float64),
        "jet_y": jets.jet_y.astype(np.float64),
        "jet_phi": jets.jet_phi.astype(np.float64),
        **(jets.extra or {}),
    }
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        for name, values in datasets.items():
            handle.create_dataset(name, data=values, **_COMPRESSION)
        _write_attrs(handle, attrs)
    summary = summarize_jets(
        JetArrays(particles, *(datasets[n] for n in JET_DATASETS[1:]))
    )
    if with_summary:
        write_json(summary_path(path), summary)
    return summary


def read_jets(path: str | os.PathLike, extra: Sequence[str] = ()) -> JetArrays:
    """Read a jet store (and the ``extra`` per-jet datasets) into memory."""
    with open_store(path) as handle:
        if "particles" not in handle and "z" in handle:
            raise StoreError(
                f"Store {path} is a preprocessed store, not a jet store: it has "
                f"{sorted(handle)} but no 'particles'. Pass the jet store "
                f"{Path(path).with_name('jets.h5')} that it was made from."
            )
        arrays = [read_dataset(handle, name) for name in JET_DATASETS]
        extras = {name: read_dataset(handle, name) for name in extra}
    jets = JetArrays(*arrays, extra=extras or None)
    n_jets = len(jets.particles)
    for name in JET_DATASETS[1:]:
        if len(getattr(jets, name)) != n_jets:
            raise StoreError(
                f"Store {path}: dataset {name!r} has "
                f"{len(getattr(jets, name))} entries "
                f"but particles has {n_jets}. {_rerun_hint(Path(path))}"
            )
    return jets


def read_attrs(path: str | os.PathLike) -> dict:
    """Return the HDF5 attributes of a store, decoding JSON strings."""
    with open_store(path) as handle:
        attrs = dict(handle.attrs)
    for key, value in attrs.items():
        if isinstance(value, np.generic):  # h5py returns numpy scalars
            attrs[key] = value.item()
        elif isinstance(value, str) and value[:1] in "[{":
            attrs[key] = json.loads(value)
    return attrs


def _check_shard_process(
    shard_path: str | os.PathLike, labels: np.ndarray, attrs: Mapping, next_step: str
) -> None:
    """Raise ``StoreError`` unless every label matches the shard's ``process``."""
    process = attrs.get("process")
    if process not in LABELS:
        raise StoreError(
            f"Shard {shard_path} has process attribute {process!r}, expected one "
            f"of {sorted(LABELS)}, so its labels cannot be checked. {next_step}"
        )
    expected = LABELS[process]
    wrong = labels != expected
    if wrong.any():
        found = sorted(set(labels[wrong].tolist()))
        raise StoreError(
            f"Shard {shard_path} has process attribute {process!r} (label "
            f"{expected}), but {int(wrong.sum())} of its {len(labels)} jets have "
            f"label {found}. {next_step}"
        )


def merge_shards(
    shard_paths: Sequence[str | os.PathLike],
    out_path: str | os.PathLike,
    attrs: Mapping,
    *,
    max_particles: int | None = None,
) -> dict:
    """Validate every shard, concatenate them and write the merged store.

    Each shard is validated on its own first, so an error names the shard.
    The shards' own attributes are collected under ``shards`` in the merged
    store's attributes. Returns the summary of the merged store.
    """
    if not shard_paths:
        raise ValueError("merge_shards needs at least one shard path.")
    shards = []
    shard_attrs = {}
    for shard_path in shard_paths:
        jets = read_jets(shard_path)
        regenerate = (
            f"Delete {shard_path} and rerun the workflow rule that writes it "
            "(generate_shard) to regenerate the shard, then rerun the merge."
        )
        validate_jets(
            jets,
            f"shard {shard_path}",
            require_both_classes=False,
            max_particles=max_particles,
            next_step=regenerate,
        )
        attrs_of_shard = read_attrs(shard_path)
        _check_shard_process(shard_path, jets.labels, attrs_of_shard, regenerate)
        shards.append(jets)
        shard_attrs[Path(shard_path).stem] = attrs_of_shard

    width = max(int(jets.multiplicity.max()) for jets in shards)
    merged = JetArrays(
        particles=np.concatenate([pad_particles(j.particles, width) for j in shards]),
        labels=np.concatenate([j.labels for j in shards]),
        jet_pt=np.concatenate([j.jet_pt for j in shards]),
        jet_y=np.concatenate([j.jet_y for j in shards]),
        jet_phi=np.concatenate([j.jet_phi for j in shards]),
    )
    return write_jets(
        out_path, merged, {**attrs, "shards": shard_attrs}, max_particles=max_particles
    )


def write_preprocessed(
    path: str | os.PathLike,
    z: np.ndarray,
    yphi: np.ndarray,
    labels: np.ndarray,
    attrs: Mapping,
) -> None:
    """Write the preprocessed store atomically."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as handle:
        handle.create_dataset("z", data=z.astype(np.float32), **_COMPRESSION)
        handle.create_dataset("yphi", data=yphi.astype(np.float32), **_COMPRESSION)
        handle.create_dataset("labels", data=labels.astype(np.int64), **_COMPRESSION)
        _write_attrs(handle, attrs)


@dataclass
class Split:
    """One split of the preprocessed store: z (n, M), yphi (n, M, 2), labels (n,)."""

    z: np.ndarray
    yphi: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def _check_preprocessed_datasets(handle: h5py.File, path: Path) -> None:
    """Raise ``StoreError`` unless ``handle`` has every preprocessed dataset.

    Only a store with some but not all of them is damaged and worth
    rewriting. Any other HDF5 file is the wrong input, not a broken one.
    """
    found = sorted(handle)
    missing = [name for name in PREPROCESSED_DATASETS if name not in handle]
    if not missing:
        return
    if "particles" in handle:
        if path.name == "jets.h5":
            preprocessed = path.with_name("preprocessed.h5")
        else:
            preprocessed = Path("results/data/<source>/preprocessed.h5")
        raise StoreError(
            f"Store {path} is a jet store (datasets {found}), not a preprocessed "
            f"store. Pass the preprocessed store {preprocessed} that rule "
            "preprocess_jets writes from the merged jet store."
        )
    if "z" not in handle:
        raise StoreError(
            f"Store {path} is not a preprocessed store: it has no dataset 'z' "
            f"(found: {found}). Pass the preprocessed store that rule "
            "preprocess_jets writes, e.g. results/data/pythia/preprocessed.h5."
        )
    raise StoreError(
        f"Store {path} has no dataset {missing[0]!r} (found: {found}), so the "
        f"preprocessed store is damaged. {_rerun_hint(path)}"
    )


def load_splits(
    path: str | os.PathLike, n_train: int, n_val: int, n_test: int
) -> dict[str, Split]:
    """Read the train, val and test splits from a preprocessed store.

    Test is the first ``n_test`` jets, val the next ``n_val`` and train the
    next ``n_train``, so every study uses the same test jets. Raises
    ``ValueError`` if the sizes are negative or do not fit in the store, and
    ``StoreError`` (a ``ValueError``) if the store is unreadable.
    """
    sizes = {"n_train": n_train, "n_val": n_val, "n_test": n_test}
    for name, size in sizes.items():
        if not isinstance(size, int | np.integer) or size < 0:
            raise ValueError(
                f"{name} must be a non-negative integer. Received: {name}={size!r}"
            )
    with open_store(path) as handle:
        _check_preprocessed_datasets(handle, Path(path))
        n_jets = handle["labels"].shape[0]
        if handle["z"].shape[0] != n_jets or handle["yphi"].shape[0] != n_jets:
            raise StoreError(
                f"Store {path}: z, yphi and labels have different numbers of jets. "
                f"{_rerun_hint(Path(path))}"
            )
        requested = n_train + n_val + n_test
        if requested > n_jets:
            raise ValueError(
                f"Requested n_train={n_train} + n_val={n_val} + n_test={n_test} = "
                f"{requested} jets, but {path} holds only {n_jets}. Lower the split "
                "sizes or generate more jets (data: pythia: jets_per_shard or "
                "shards_per_class in the config)."
            )
        bounds = {
            "test": (0, n_test),
            "val": (n_test, n_test + n_val),
            "train": (n_test + n_val, requested),
        }
        return {
            name: Split(
                *(
                    read_dataset(handle, d, slice(start, stop))
                    for d in PREPROCESSED_DATASETS
                )
            )
            for name, (start, stop) in bounds.items()
        }
