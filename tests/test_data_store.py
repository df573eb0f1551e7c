"""Tests of jet store validation, writing, merging, corrupt files and load_splits."""

import json

import h5py
import numpy as np
import pytest

from data_helpers import synthetic_jets
from moment_pooling.data import Split, StoreError, load_splits
from moment_pooling.data.preprocess import preprocess_store
from moment_pooling.data.store import (
    JetArrays,
    merge_shards,
    read_attrs,
    read_jets,
    summary_path,
    validate_jets,
    write_jets,
)


def replace(jets, **changes):
    fields = {
        name: getattr(jets, name)
        for name in ("particles", "labels", "jet_pt", "jet_y", "jet_phi")
    }
    fields.update(changes)
    return JetArrays(**fields)


def test_validate_jets_accepts_synthetic_jets():
    validate_jets(synthetic_jets(), "synthetic")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("nan", "dataset 'particles' contains 1 NaN or infinite values"),
        ("pt_high", "1 jets have pT outside"),
        ("y_high", r"1 jets have \|y\| >= 1.7"),
        ("one_class", r"no gluon jets \(label 0\)"),
        ("bad_label", r"labels must be 1 \(quark\) or 0 \(gluon\), found \[2\]"),
        ("empty_jet", "1 jets have no particles"),
        ("shape", r"jet_pt must have shape \(40,\)"),
        ("phi_far", "particles with phi more than pi away"),
    ],
)
def test_validate_jets_rejects_bad_jets(change, message):
    jets = synthetic_jets()
    particles = jets.particles.copy()
    if change == "nan":
        particles[3, 0, 1] = np.nan
        jets = replace(jets, particles=particles)
    elif change == "pt_high":
        jets = replace(jets, jet_pt=np.where(np.arange(40) == 5, 560.0, jets.jet_pt))
    elif change == "y_high":
        jets = replace(jets, jet_y=np.where(np.arange(40) == 5, 1.8, jets.jet_y))
    elif change == "one_class":
        jets = replace(jets, labels=np.ones(40, dtype=np.int64))
    elif change == "bad_label":
        jets = replace(jets, labels=np.where(np.arange(40) == 0, 2, jets.labels))
    elif change == "empty_jet":
        particles[7] = 0
        jets = replace(jets, particles=particles)
    elif change == "shape":
        jets = replace(jets, jet_pt=jets.jet_pt[:-1])
    elif change == "phi_far":
        particles[2, 0, 2] += 2 * np.pi
        jets = replace(jets, particles=particles)
    with pytest.raises(
        StoreError, match=f"Jets from shard_7 failed validation: {message}"
    ):
        validate_jets(jets, "shard_7")


def test_validate_jets_max_particles_exceeded_raises():
    with pytest.raises(
        StoreError, match="a jet has 30 particles, more than data.max_particles = 20"
    ):
        validate_jets(synthetic_jets(width=30), "store", max_particles=20)


def test_write_jets_round_trip_and_summary(tmp_path):
    jets = synthetic_jets()
    path = tmp_path / "jets.h5"
    write_jets(
        path,
        jets,
        {"base_seed": 3, "versions": {"numpy": np.__version__}},
        max_particles=50,
    )

    stored = read_jets(path)
    assert stored.particles.shape == (40, 50, 4)
    assert stored.particles.dtype == np.float32
    np.testing.assert_array_equal(stored.particles[:, :30], jets.particles)
    assert not stored.particles[:, 30:].any()
    np.testing.assert_array_equal(stored.labels, jets.labels)
    np.testing.assert_allclose(stored.jet_pt, jets.jet_pt)

    attrs = read_attrs(path)
    assert attrs["base_seed"] == 3
    assert attrs["versions"] == {"numpy": np.__version__}

    summary = json.loads(summary_path(path).read_text())
    assert summary_path(path).name == "jets_summary.json"
    assert summary["quark"]["count"] == 20
    assert summary["gluon"]["count"] == 20
    multiplicity = (jets.particles[:, :, 0] > 0).sum(axis=1)
    assert summary["quark"]["multiplicity_mean"] == pytest.approx(
        multiplicity[jets.labels == 1].mean()
    )
    assert summary["gluon"]["multiplicity_std"] == pytest.approx(
        multiplicity[jets.labels == 0].std()
    )
    assert 500 <= summary["quark"]["pt_min"] <= summary["quark"]["pt_max"] <= 550
    assert summary["gluon"]["abs_y_max"] < 1.7


def test_write_jets_invalid_leaves_no_file(tmp_path):
    jets = synthetic_jets()
    jets = replace(jets, jet_y=jets.jet_y + 5)
    with pytest.raises(StoreError):
        write_jets(tmp_path / "jets.h5", jets, {})
    assert list(tmp_path.iterdir()) == []


def write_shard(path, jets, label):
    labelled = replace(jets, labels=np.full(jets.n_jets, label, dtype=np.int64))
    write_jets(
        path,
        labelled,
        {"process": "quark" if label else "gluon", "n_events": np.int64(123)},
        require_both_classes=False,
        with_summary=False,
    )


def test_merge_shards_concatenates_and_pads(tmp_path):
    quark, gluon = (
        synthetic_jets(n_jets=10, width=12, seed=1),
        synthetic_jets(n_jets=8, width=20, seed=2),
    )
    write_shard(tmp_path / "quark_0.h5", quark, 1)
    write_shard(tmp_path / "gluon_0.h5", gluon, 0)

    summary = merge_shards(
        [tmp_path / "quark_0.h5", tmp_path / "gluon_0.h5"],
        tmp_path / "jets.h5",
        {"base_seed": 1},
    )
    merged = read_jets(tmp_path / "jets.h5")
    assert merged.particles.shape == (18, 20, 4)
    np.testing.assert_array_equal(merged.labels, [1] * 10 + [0] * 8)
    np.testing.assert_array_equal(merged.particles[:10, :12], quark.particles)
    assert summary["quark"]["count"] == 10
    assert summary["gluon"]["count"] == 8
    shard_attrs = read_attrs(tmp_path / "jets.h5")["shards"]
    assert shard_attrs["quark_0"]["process"] == "quark"
    assert shard_attrs["gluon_0"]["n_events"] == 123


def test_merge_shards_names_bad_shard(tmp_path):
    jets = synthetic_jets(n_jets=10, seed=1)
    write_shard(tmp_path / "quark_0.h5", jets, 1)
    with h5py.File(tmp_path / "gluon_3.h5", "w") as handle:
        for name in ("particles", "labels", "jet_pt", "jet_y", "jet_phi"):
            handle[name] = getattr(jets, name)
        handle["jet_pt"][0] = 600.0
    with pytest.raises(
        StoreError, match=r"shard .*gluon_3.h5 failed validation: 1 jets have pT"
    ):
        merge_shards(
            [tmp_path / "quark_0.h5", tmp_path / "gluon_3.h5"], tmp_path / "jets.h5", {}
        )
    assert not (tmp_path / "jets.h5").exists()


def test_merge_shards_nan_names_shard_and_fix(tmp_path):
    jets = synthetic_jets(n_jets=10, seed=1)
    particles = jets.particles.copy()
    particles[4, 0, 1] = np.nan
    write_shard(tmp_path / "gluon_0.h5", synthetic_jets(n_jets=10, seed=2), 0)
    with h5py.File(tmp_path / "quark_2.h5", "w") as handle:
        for name in ("labels", "jet_pt", "jet_y", "jet_phi"):
            handle[name] = getattr(jets, name)
        handle["labels"][:] = 1
        handle["particles"] = particles
        handle.attrs["process"] = "quark"
    with pytest.raises(
        StoreError,
        match=(
            r"shard .*quark_2.h5 failed validation: dataset 'particles' contains 1 "
            r"NaN or infinite values \(first in jet 4\)\. Delete .*quark_2.h5 and "
            r"rerun .*generate_shard.*rerun the merge"
        ),
    ):
        merge_shards(
            [tmp_path / "gluon_0.h5", tmp_path / "quark_2.h5"], tmp_path / "jets.h5", {}
        )


def test_merge_shards_label_not_process_raises(tmp_path):
    write_shard(tmp_path / "gluon_0.h5", synthetic_jets(n_jets=10, seed=2), 0)
    write_shard(tmp_path / "quark_0.h5", synthetic_jets(n_jets=10, seed=1), 1)
    with h5py.File(tmp_path / "quark_0.h5", "a") as handle:
        handle["labels"][:] = 0
    with pytest.raises(
        StoreError,
        match=(
            r"Shard .*quark_0.h5 has process attribute 'quark' \(label 1\), but 10 "
            r"of its 10 jets have label \[0\]\. Delete .*quark_0.h5"
        ),
    ):
        merge_shards(
            [tmp_path / "gluon_0.h5", tmp_path / "quark_0.h5"], tmp_path / "jets.h5", {}
        )
    assert not (tmp_path / "jets.h5").exists()


def test_merge_shards_missing_process_raises(tmp_path):
    write_shard(tmp_path / "gluon_0.h5", synthetic_jets(n_jets=10, seed=2), 0)
    with h5py.File(tmp_path / "gluon_0.h5", "a") as handle:
        del handle.attrs["process"]
    with pytest.raises(StoreError, match="gluon_0.h5 has process attribute None"):
        merge_shards([tmp_path / "gluon_0.h5"], tmp_path / "jets.h5", {})


def test_merge_shards_single_class_raises(tmp_path):
    write_shard(tmp_path / "quark_0.h5", synthetic_jets(n_jets=10), 1)
    with pytest.raises(StoreError, match="no gluon jets"):
        merge_shards([tmp_path / "quark_0.h5"], tmp_path / "jets.h5", {})


def test_read_jets_truncated_file_raises(tmp_path):
    path = tmp_path / "jets.h5"
    write_jets(path, synthetic_jets(n_jets=200), {})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        StoreError,
        match=r"jets.h5 is not a readable HDF5 file.*Delete .*jets.h5 and rerun",
    ):
        read_jets(path)


def test_read_jets_not_hdf5_raises(tmp_path):
    path = tmp_path / "jets.h5"
    path.write_text('{"n_jets": 40}\n')
    with pytest.raises(StoreError, match="is not an HDF5 file") as error:
        read_jets(path)
    assert "Delete" not in str(error.value)
    assert "truncated" not in str(error.value)


def test_read_jets_empty_file_raises(tmp_path):
    path = tmp_path / "jets.h5"
    path.write_bytes(b"")
    with pytest.raises(StoreError, match=r"is an empty file.*Delete .*jets.h5"):
        read_jets(path)


def test_read_jets_directory_raises(tmp_path):
    with pytest.raises(StoreError, match="is a directory, not an HDF5 file") as error:
        read_jets(tmp_path)
    assert "not found" not in str(error.value)


def test_read_jets_preprocessed_store_raises(preprocessed):
    with pytest.raises(
        StoreError, match=r"is a preprocessed store, not a jet store.*jets.h5"
    ) as error:
        read_jets(preprocessed)
    assert "Delete" not in str(error.value)


def test_read_jets_missing_dataset_raises(tmp_path):
    path = tmp_path / "jets.h5"
    with h5py.File(path, "w") as handle:
        handle["particles"] = np.zeros((2, 3, 4), dtype=np.float32)
    with pytest.raises(
        StoreError, match=r"has no dataset 'labels' \(found: \['particles'\]\)"
    ):
        read_jets(path)


def test_read_jets_missing_file_raises(tmp_path):
    with pytest.raises(StoreError, match="not found. Run the workflow rule"):
        read_jets(tmp_path / "absent.h5")


def test_store_error_is_value_error():
    assert issubclass(StoreError, ValueError)


@pytest.fixture
def preprocessed(tmp_path):
    write_jets(tmp_path / "jets.h5", synthetic_jets(n_jets=50), {})
    preprocess_store(tmp_path / "jets.h5", tmp_path / "preprocessed.h5", shuffle_seed=4)
    return tmp_path / "preprocessed.h5"


def test_load_splits_sizes_and_order(preprocessed):
    splits = load_splits(preprocessed, n_train=30, n_val=5, n_test=10)
    assert set(splits) == {"train", "val", "test"}
    assert all(isinstance(split, Split) for split in splits.values())
    assert len(splits["train"]) == 30
    assert len(splits["val"]) == 5
    assert len(splits["test"]) == 10
    assert splits["train"].yphi.shape == (30, 30, 2)
    assert splits["test"].z.shape == (10, 30)
    with h5py.File(preprocessed) as handle:
        np.testing.assert_array_equal(splits["test"].z, handle["z"][:10])
        np.testing.assert_array_equal(splits["val"].labels, handle["labels"][10:15])
        np.testing.assert_array_equal(splits["train"].yphi, handle["yphi"][15:45])


def test_load_splits_test_set_independent_of_train_size(preprocessed):
    small = load_splits(preprocessed, n_train=5, n_val=5, n_test=10)
    large = load_splits(preprocessed, n_train=35, n_val=5, n_test=10)
    np.testing.assert_array_equal(small["test"].z, large["test"].z)
    np.testing.assert_array_equal(small["train"].z, large["train"].z[:5])


def test_load_splits_too_many_jets_raises(preprocessed):
    with pytest.raises(
        ValueError,
        match=r"n_train=40 \+ n_val=5 \+ n_test=10 = 55 jets, but .* holds only 50",
    ):
        load_splits(preprocessed, n_train=40, n_val=5, n_test=10)


def test_load_splits_negative_size_raises(preprocessed):
    with pytest.raises(ValueError, match="n_val=-1"):
        load_splits(preprocessed, n_train=10, n_val=-1, n_test=10)


def test_load_splits_jet_store_raises(tmp_path):
    write_jets(tmp_path / "jets.h5", synthetic_jets(), {})
    with pytest.raises(
        StoreError, match="is a jet store .* not a preprocessed store"
    ) as error:
        load_splits(tmp_path / "jets.h5", 1, 1, 1)
    assert str(tmp_path / "preprocessed.h5") in str(error.value)
    assert "Delete" not in str(error.value)


def test_load_splits_other_hdf5_raises(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle["x"] = np.zeros(3)
    with pytest.raises(StoreError, match="is not a preprocessed store") as error:
        load_splits(path, 1, 1, 1)
    assert "Delete" not in str(error.value)


def test_load_splits_damaged_store_raises(preprocessed):
    with h5py.File(preprocessed, "a") as handle:
        del handle["yphi"]
    with pytest.raises(
        StoreError, match=r"no dataset 'yphi'.*damaged.*Delete .*preprocessed.h5"
    ):
        load_splits(preprocessed, 1, 1, 1)


def test_load_splits_json_file_raises(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"auc": 0.8}\n')
    with pytest.raises(StoreError, match="metrics.json is not an HDF5 file") as error:
        load_splits(path, 1, 1, 1)
    assert "truncated" not in str(error.value)


def test_load_splits_truncated_store_raises(preprocessed):
    data = preprocessed.read_bytes()
    preprocessed.write_bytes(data[:2000])
    with pytest.raises(StoreError, match="preprocessed.h5 is not a readable HDF5 file"):
        load_splits(preprocessed, 1, 1, 1)
