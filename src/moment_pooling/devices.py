"""GPU assignment for local workflow jobs that run side by side on one machine.

Snakemake's ``--resources gpu=N`` limits how many training jobs run at once,
but it does not tell a job which GPU to use, so without help every job would
start on GPU 0. :func:`visible_gpu` claims one free GPU per job with an
exclusive ``fcntl.flock`` on a lock file per GPU and sets
``CUDA_VISIBLE_DEVICES`` to it. The lock belongs to the open file, so the
kernel releases it when the job exits, including after ``SIGKILL``.

Under SLURM the job's ``CUDA_VISIBLE_DEVICES`` already names the GPU that
SLURM allocated, so :func:`visible_gpu` changes nothing there.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

LOCK_DIR_ENV = "MOMENT_POOLING_GPU_LOCK_DIR"

# Modules that read CUDA_VISIBLE_DEVICES when they initialise CUDA.
_CUDA_MODULES = ("tensorflow", "jax", "torch")


def default_lock_dir() -> Path:
    """Return the folder of GPU lock files shared by all jobs of this user.

    ``$MOMENT_POOLING_GPU_LOCK_DIR`` overrides the default, a folder in the
    system temporary directory named after the user id.
    """
    override = os.environ.get(LOCK_DIR_ENV)
    if override:
        return Path(override)
    return Path(tempfile.gettempdir()) / f"moment_pooling_gpu_locks_{os.getuid()}"


def available_gpus() -> list[str]:
    """Return the identifiers of the GPUs this process may use.

    ``CUDA_VISIBLE_DEVICES`` wins when it is set: its comma-separated entries
    (indices or ``GPU-<uuid>`` names) are returned as written, and an empty
    value or ``-1`` means no GPU. Otherwise the indices of the GPUs that
    ``nvidia-smi -L`` lists are returned. Without ``nvidia-smi``, or when it
    fails (no driver), the list is empty.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        entries = [entry.strip() for entry in visible.split(",") if entry.strip()]
        # CUDA ignores every entry from the first invalid one on, so a leading
        # -1 hides all GPUs.
        if entries and entries[0] == "-1":
            return []
        return entries
    try:
        listing = subprocess.run(
            ["nvidia-smi", "-L"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return []
    return [
        match.group(1)
        for match in re.finditer(r"^GPU (\d+):", listing, flags=re.MULTILINE)
    ]


def _lock_file_name(gpu: str) -> str:
    # Old-style MIG names such as MIG-GPU-<uuid>/1/0 contain '/'.
    return "gpu_" + re.sub(r"[^A-Za-z0-9_.-]", "_", gpu) + ".lock"


def _try_claim(lock_dir: Path, gpus: list[str]) -> tuple[str, int] | None:
    """Lock the first free GPU of ``gpus`` and return it with the lock's descriptor.

    Returns ``None`` when every GPU is locked by another open file.
    """
    for gpu in gpus:
        fd = os.open(lock_dir / _lock_file_name(gpu), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return gpu, fd
    return None


@contextlib.contextmanager
def visible_gpu(
    lock_dir: str | os.PathLike | None = None,
    *,
    timeout: float | None = None,
    poll_interval: float = 1.0,
) -> Iterator[str | None]:
    """Claim one free GPU for this process and make it the only visible one.

    Enter this context before TensorFlow is imported, because TensorFlow
    reads ``CUDA_VISIBLE_DEVICES`` once, when it first initialises CUDA. Jobs
    that share ``lock_dir`` never hold the same GPU at once. When every GPU
    is held, the call waits, polling every ``poll_interval`` seconds, and
    raises ``TimeoutError`` after ``timeout`` seconds (``None`` waits
    forever). On exit the previous ``CUDA_VISIBLE_DEVICES`` is restored and
    the GPU is released.

    Yields the claimed GPU identifier. Inside a SLURM job (``SLURM_JOB_ID``
    set) it yields the GPU that SLURM assigned, or ``None``, and changes
    nothing. With no GPU it yields ``None`` and changes nothing.

    Raises:
        RuntimeError: TensorFlow, JAX or PyTorch is already imported, so the
            new ``CUDA_VISIBLE_DEVICES`` might not take effect.
        TimeoutError: no GPU became free within ``timeout`` seconds.
    """
    if "SLURM_JOB_ID" in os.environ:
        gpus = available_gpus()
        logger.info(
            "SLURM job %s: GPU assignment left to SLURM, CUDA_VISIBLE_DEVICES=%s",
            os.environ["SLURM_JOB_ID"],
            os.environ.get("CUDA_VISIBLE_DEVICES", "(unset)"),
        )
        yield ",".join(gpus) if gpus else None
        return

    gpus = available_gpus()
    if not gpus:
        logger.info("no GPU found: running on the CPU")
        yield None
        return

    imported = [name for name in _CUDA_MODULES if name in sys.modules]
    if imported:
        raise RuntimeError(
            f"visible_gpu() must run before {', '.join(imported)} is imported, "
            "because CUDA reads CUDA_VISIBLE_DEVICES only once. Move the import "
            "inside the `with visible_gpu():` block."
        )

    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    waiting_logged = False
    while (claim := _try_claim(lock_dir, gpus)) is None:
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(
                f"No free GPU after {timeout:g} s: all of {gpus} are held by other "
                f"jobs (lock files in {lock_dir}). Run fewer GPU jobs at once, e.g. "
                f"snakemake --resources gpu={len(gpus)}."
            )
        if not waiting_logged:
            logger.info("all GPUs %s are busy (locks in %s), waiting", gpus, lock_dir)
            waiting_logged = True
        time.sleep(poll_interval)

    gpu, fd = claim
    previous = os.environ.get("CUDA_VISIBLE_DEVICES")
    os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    logger.info("claimed GPU %s (lock file %s)", gpu, lock_dir / _lock_file_name(gpu))
    try:
        yield gpu
    finally:
        if previous is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = previous
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        logger.info("released GPU %s", gpu)
