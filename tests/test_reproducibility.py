"""Same config and seeds give the same result tables on the CPU.

Runs the tiny workflow a second time in a fresh directory and compares every
CSV under results/tables/ with the session's first run, ignoring the
provenance lines and timing columns.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import copy_workflow, run_workflow
from moment_pooling.provenance import TRACKED_PACKAGES, read_table

pytestmark = pytest.mark.slow

# Wall-clock columns (seconds per epoch, training time) differ between runs.
TIMING_COLUMN = re.compile(r"second|time|duration", re.IGNORECASE)


def result_tables(workdir: Path) -> list[Path]:
    tables = workdir / "results" / "tables"
    return sorted(path.relative_to(workdir) for path in tables.rglob("*.csv"))


def table_values(path: Path) -> list[dict[str, str]]:
    rows, _ = read_table(path)
    return [
        {name: value for name, value in row.items() if not TIMING_COLUMN.search(name)}
        for row in rows
    ]


@pytest.fixture(scope="module")
def second_run(tmp_path_factory) -> Path:
    workdir = copy_workflow(tmp_path_factory.mktemp("second_run"))
    run_workflow(workdir)
    return workdir


def test_reproducibility_same_tables(tiny_workflow, second_run):
    first = result_tables(tiny_workflow)
    assert first, "the tiny workflow wrote no tables"
    assert result_tables(second_run) == first


def test_reproducibility_identical_values(tiny_workflow, second_run):
    for table in result_tables(tiny_workflow):
        first = table_values(tiny_workflow / table)
        second = table_values(second_run / table)
        assert first, f"{table} has no rows"
        assert second == first, f"{table} differs between two identical runs"


def test_reproducibility_tables_record_provenance(tiny_workflow, second_run):
    for table in result_tables(tiny_workflow):
        _, first = read_table(tiny_workflow / table)
        _, second = read_table(second_run / table)
        assert "git_revision" in first, table
        assert re.fullmatch(r"[0-9a-f]{16}", first.get("config_hash", "")), table
        assert first["config_hash"] == second["config_hash"], table
        for package in TRACKED_PACKAGES:
            assert first.get(f"version.{package}"), f"{table}: no {package} version"
