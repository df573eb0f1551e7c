import json
import math
import os
import socket
import stat
import subprocess
import sys

import h5py
import pytest

from moment_pooling.io import atomic_path, write_json
from moment_pooling.provenance import config_hash, read_table, write_table


def test_config_hash_ignores_key_order():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})


def test_config_hash_changes_with_value():
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_write_table_round_trip(tmp_path):
    path = tmp_path / "t.csv"
    write_table(path, [{"k": 1, "auc": 0.75}], ["k", "auc"], config={"x": 1})
    rows, meta = read_table(path)
    assert rows == [{"k": "1", "auc": "0.75"}]
    assert meta["config_hash"] == config_hash({"x": 1})
    assert meta["version.numpy"]
    assert "git_revision" in meta


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.json"

    def write_then_fail():
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        write_then_fail()
    assert list(tmp_path.iterdir()) == []


def test_write_json_writes_valid_json(tmp_path):
    write_json(tmp_path / "m.json", {"auc": 0.8, "nan": math.pi})
    assert json.loads((tmp_path / "m.json").read_text())["auc"] == 0.8


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640)])
def test_atomic_path_mode_follows_umask(tmp_path, umask, expected):
    previous = os.umask(umask)
    try:
        write_json(tmp_path / "m.json", {"auc": 0.8})
        with atomic_path(tmp_path / "store.h5") as tmp:
            with h5py.File(tmp, "w") as handle:
                handle.create_dataset("labels", data=[0, 1])
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "store.h5").stat().st_mode) == expected


def _exited_process_id() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_atomic_path_removes_stale_temporaries(tmp_path):
    host = socket.gethostname()
    stale = tmp_path / f".store.h5.{host}-{_exited_process_id()}.abcdefgh.tmp.h5"
    live = tmp_path / f".store.h5.{host}-{os.getpid()}.ijklmnop.tmp.h5"
    other_host = tmp_path / ".store.h5.other-node-1.qrstuvwx.tmp.h5"
    other_output = tmp_path / f".other.h5.{host}-{_exited_process_id()}.abcdefgh.tmp.h5"
    for path in (stale, live, other_host, other_output):
        path.write_text("partial")

    with atomic_path(tmp_path / "store.h5") as tmp:
        tmp.write_text("complete")

    assert (tmp_path / "store.h5").read_text() == "complete"
    assert not stale.exists()
    assert live.exists()
    assert other_host.exists()
    assert other_output.exists()
