"""Logging set-up for workflow scripts: every rule writes to its own log file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from moment_pooling import __version__


def setup_rule_logging(log_path: str | os.PathLike | None, name: str) -> logging.Logger:
    """Send ``logging`` output, stdout and stderr to ``log_path``; return a logger.

    Both file descriptors 1 and 2 are redirected, not only ``sys.stderr``, so
    that what C++ libraries print (TensorFlow's start-up messages, FastJet's
    banner, Pythia) also lands in the rule log instead of Snakemake's console.
    The first line names the package version, so that every rule log records
    which code produced it. With ``log_path=None`` the log goes to stderr.
    """
    handlers: list[logging.Handler]
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
        sys.stdout = sys.stderr = stream
        handlers = [logging.StreamHandler(stream)]
    else:
        handlers = [logging.StreamHandler(sys.stderr)]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logger = logging.getLogger(name)
    logger.info("moment-pooling %s, pid %d", __version__, os.getpid())
    return logger
