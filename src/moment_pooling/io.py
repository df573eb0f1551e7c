"""Atomic file output, so that a killed job never leaves a truncated file."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _process_umask() -> int:
    """Return the process umask without changing it where Linux exposes it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    # Elsewhere the only API sets the umask to read it, so restore it at once.
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


def _temporary_name_parts(path: Path) -> tuple[str, str]:
    """Return the start and end of the names of ``path``'s temporary files.

    ``atomic_path`` puts "<host>-<pid>.<random>" of the writing process between
    them, so that a later write can tell files of killed processes from those
    of live ones.
    """
    return f".{path.name}.", ".tmp" + "".join(path.suffixes)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The process exists but belongs to another user.
        pass
    return True


def _remove_stale_temporaries(path: Path) -> None:
    """Delete temporary files of ``path`` left by killed processes on this host.

    Only files whose name carries this host and the id of a process that no
    longer exists are removed. Files of other hosts (a shared file system) and
    of live processes are kept.
    """
    head, suffix = _temporary_name_parts(path)
    host = socket.gethostname()
    for candidate in path.parent.glob(f"{glob.escape(head)}*{glob.escape(suffix)}"):
        owner = candidate.name[len(head) : -len(suffix)].rsplit(".", 1)[0]
        owner_host, _, pid = owner.rpartition("-")
        if owner_host == host and pid.isdigit() and not _process_exists(int(pid)):
            candidate.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and move it into place on success.

    The temporary file lives in the same folder, so the final ``os.replace`` is
    atomic on POSIX file systems. On any exception the temporary file is
    removed and ``path`` is left as it was (absent, or the previous version).
    A process killed with SIGKILL cannot remove its temporary file, so after
    each successful write the temporary files of ``path`` left by processes
    that no longer exist on this host are deleted. The file gets mode
    ``0o666 & ~umask``, like one made by ``open``, and not the ``0o600`` of
    ``tempfile.mkstemp``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head, suffix = _temporary_name_parts(path)
    owner = f"{socket.gethostname()}-{os.getpid()}."
    fd, tmp_name = tempfile.mkstemp(prefix=head + owner, suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_process_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _remove_stale_temporaries(path)


def write_json(path: str | os.PathLike, data: object) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
