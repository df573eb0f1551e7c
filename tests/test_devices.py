"""GPU claims by file lock, tested with CUDA_VISIBLE_DEVICES naming two GPUs.

Each claim that must overlap another runs in its own Python process, as
concurrent Snakemake jobs do. No GPU is needed: the claims only lock files
and set CUDA_VISIBLE_DEVICES, and nothing here initialises CUDA.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from moment_pooling import devices
from moment_pooling.devices import available_gpus, visible_gpu

# Claims a GPU, prints it, then holds it until a line arrives on stdin.
HOLDER = textwrap.dedent(
    """
    import os, sys
    from moment_pooling.devices import visible_gpu

    timeout = None if sys.argv[2] == "none" else float(sys.argv[2])
    try:
        with visible_gpu(sys.argv[1], timeout=timeout, poll_interval=0.05) as gpu:
            print(gpu, os.environ.get("CUDA_VISIBLE_DEVICES"), flush=True)
            sys.stdin.readline()
    except TimeoutError as error:
        print("TimeoutError", error, flush=True)
        sys.exit(3)
    """
)


def start_holder(lock_dir: Path, timeout: str = "none", visible: str = "0,1"):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env["CUDA_VISIBLE_DEVICES"] = visible
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_dir), timeout],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_line(proc: subprocess.Popen, wait: float) -> str | None:
    """Return the next stdout line of ``proc``, or None after ``wait`` seconds."""
    ready, _, _ = select.select([proc.stdout], [], [], wait)
    if not ready:
        return None
    return proc.stdout.readline().strip()


def close(proc: subprocess.Popen) -> int:
    """Close the pipes of ``proc`` once it has exited and return its exit code."""
    code = proc.wait(timeout=30)
    proc.stdin.close()
    proc.stdout.close()
    return code


def release(proc: subprocess.Popen) -> None:
    """Let ``proc`` leave its ``visible_gpu`` block and exit."""
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert close(proc) == 0


@pytest.fixture
def two_gpus(monkeypatch):
    """Pretend to be a local job on a machine whose GPUs are 0 and 1."""
    for name in [k for k in os.environ if k.startswith("SLURM_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    # visible_gpu() rejects a process that imported TensorFlow, which other
    # tests in this session may have done; these in-process claims touch no CUDA.
    for name in devices._CUDA_MODULES:
        monkeypatch.delitem(sys.modules, name, raising=False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0,1", ["0", "1"]),
        (" 2 , 3 ", ["2", "3"]),
        (
            "GPU-8a1b2c3d-0000-1111-2222-333344445555",
            ["GPU-8a1b2c3d-0000-1111-2222-333344445555"],
        ),
        ("", []),
        ("-1", []),
    ],
)
def test_available_gpus_reads_cuda_visible_devices(monkeypatch, value, expected):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert available_gpus() == expected


def test_available_gpus_parses_nvidia_smi_listing(monkeypatch, tmp_path):
    # A stand-in nvidia-smi that prints lines in the `nvidia-smi -L` format.
    script = tmp_path / "nvidia-smi"
    uuid_tail = "aaaaaaa-0000-0000-0000-000000000000"
    lines = [
        f"echo 'GPU {i}: NVIDIA H100 80GB HBM3 (UUID: GPU-{i}{uuid_tail})'"
        for i in range(3)
    ]
    script.write_text("#!/bin/sh\n" + "\n".join(lines) + "\n")
    script.chmod(0o755)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert available_gpus() == ["0", "1", "2"]


def test_available_gpus_without_nvidia_smi_is_empty(monkeypatch, tmp_path):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert available_gpus() == []


def test_visible_gpu_concurrent_claims_differ(tmp_path):
    first = start_holder(tmp_path)
    second = start_holder(tmp_path)
    try:
        line_first = read_line(first, wait=30)
        line_second = read_line(second, wait=30)
        assert line_first is not None
        assert line_second is not None
        gpu_first, visible_first = line_first.split()
        gpu_second, visible_second = line_second.split()
        assert {gpu_first, gpu_second} == {"0", "1"}
        # Each job sees only its own GPU.
        assert visible_first == gpu_first
        assert visible_second == gpu_second
    finally:
        release(first)
        release(second)


def test_visible_gpu_third_claim_times_out(tmp_path):
    holders = [start_holder(tmp_path) for _ in range(2)]
    try:
        for holder in holders:
            assert read_line(holder, wait=30) is not None
        third = start_holder(tmp_path, timeout="0.3")
        message = read_line(third, wait=30)
        assert close(third) == 3
        assert message.startswith("TimeoutError")
        assert "['0', '1']" in message
        assert str(tmp_path) in message
        assert "--resources gpu=2" in message
    finally:
        for holder in holders:
            release(holder)


def test_visible_gpu_third_claim_waits_for_release(tmp_path):
    first = start_holder(tmp_path)
    second = start_holder(tmp_path)
    third = None
    try:
        gpu_first = read_line(first, wait=30).split()[0]
        assert read_line(second, wait=30) is not None
        third = start_holder(tmp_path)
        assert read_line(third, wait=1.0) is None, (
            "third claim got a GPU while both were held"
        )
        release(first)
        first = None
        line_third = read_line(third, wait=30)
        assert line_third is not None
        assert line_third.split()[0] == gpu_first
    finally:
        for holder in (first, second, third):
            if holder is not None:
                release(holder)


def test_visible_gpu_killed_holder_frees_gpu(tmp_path):
    first = start_holder(tmp_path, visible="0")
    assert read_line(first, wait=30) == "0 0"
    first.send_signal(signal.SIGKILL)
    assert close(first) == -signal.SIGKILL
    second = start_holder(tmp_path, timeout="5", visible="0")
    try:
        assert read_line(second, wait=30) == "0 0"
    finally:
        release(second)


def test_visible_gpu_release_restores_env(two_gpus, tmp_path):
    with visible_gpu(tmp_path, timeout=0) as gpu:
        assert gpu == "0"
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "0"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_visible_gpu_release_frees_lock(two_gpus, tmp_path):
    with visible_gpu(tmp_path, timeout=0) as gpu:
        assert gpu == "0"
    with visible_gpu(tmp_path, timeout=0) as again:
        assert again == "0"


def test_visible_gpu_held_gpu_is_skipped(two_gpus, tmp_path):
    with visible_gpu(tmp_path, timeout=0) as first:
        os.environ["CUDA_VISIBLE_DEVICES"] = "0,1"
        with visible_gpu(tmp_path, timeout=0) as second:
            assert first == "0"
            assert second == "1"
            with pytest.raises(TimeoutError, match="No free GPU"):
                with visible_gpu(tmp_path, timeout=0):
                    pass


def test_visible_gpu_under_slurm_changes_nothing(monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="moment_pooling.devices")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    lock_dir = tmp_path / "locks"
    with visible_gpu(lock_dir, timeout=0) as gpu:
        assert gpu == "3"
        assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    assert not lock_dir.exists()
    # Training logs record which GPU SLURM gave the job.
    assert "SLURM job 42" in caplog.text
    assert "CUDA_VISIBLE_DEVICES=3" in caplog.text


def test_visible_gpu_without_gpu_changes_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    lock_dir = tmp_path / "locks"
    with visible_gpu(lock_dir) as gpu:
        assert gpu is None
        assert "CUDA_VISIBLE_DEVICES" not in os.environ
    assert not lock_dir.exists()


def test_visible_gpu_after_tensorflow_import_raises(two_gpus, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tensorflow", sys.modules[__name__])
    with pytest.raises(RuntimeError, match="before tensorflow is imported"):
        with visible_gpu(tmp_path):
            pass
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "0,1"


def test_visible_gpu_lock_dir_env_default(monkeypatch, tmp_path):
    monkeypatch.setenv(devices.LOCK_DIR_ENV, str(tmp_path / "shared"))
    assert devices.default_lock_dir() == tmp_path / "shared"
    monkeypatch.delenv(devices.LOCK_DIR_ENV)
    assert devices.default_lock_dir().name == f"moment_pooling_gpu_locks_{os.getuid()}"


def test_visible_gpu_timeout_waits_full_period(two_gpus, tmp_path):
    holder = start_holder(tmp_path, visible="0")
    try:
        assert read_line(holder, wait=30) == "0 0"
        os.environ["CUDA_VISIBLE_DEVICES"] = "0"
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            with visible_gpu(tmp_path, timeout=0.2, poll_interval=0.05):
                pass
        assert time.monotonic() - started >= 0.2
    finally:
        release(holder)
