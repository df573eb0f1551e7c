"""Tests of jet generation with real Pythia 8 and FastJet (small samples)."""

import numpy as np
import pytest

from moment_pooling.data.generate import (
    PYTHIA_SEED_MAX,
    generate_jets,
    make_pythia,
    pythia_seed,
    select_hard_process,
)
from moment_pooling.data.selection import JET_ABS_Y_MAX, JET_PT_MAX, JET_PT_MIN
from moment_pooling.data.store import JetArrays, validate_jets

# A window that keeps most events, for speed; the workflow reads its own.
PTHAT_MIN, PTHAT_MAX = 450.0, 650.0
N_JETS = 150


@pytest.fixture(scope="module")
def samples():
    return {
        process: generate_jets(process, N_JETS, seed, PTHAT_MIN, PTHAT_MAX)
        for process, seed in (("quark", 11), ("gluon", 12))
    }


def test_pythia_seed_in_range_and_distinct():
    seeds = {
        pythia_seed(base, process, shard)
        for base in (0, 1, 7)
        for process in ("quark", "gluon")
        for shard in range(20)
    }
    assert len(seeds) == 3 * 2 * 20
    assert min(seeds) >= 1
    assert max(seeds) <= PYTHIA_SEED_MAX


def test_pythia_seed_deterministic():
    assert pythia_seed(5, "quark", 3) == pythia_seed(5, "quark", 3)


def test_pythia_seed_invalid_process_raises():
    with pytest.raises(ValueError, match="Unknown process 'charm'"):
        pythia_seed(1, "charm", 0)


def test_make_pythia_invalid_window_raises():
    with pytest.raises(ValueError, match="pthat_min=600"):
        make_pythia("quark", 1, 600.0, 500.0)


def test_make_pythia_invalid_seed_raises():
    with pytest.raises(ValueError, match="seed=0"):
        make_pythia("quark", 0, 450.0, 650.0)


@pytest.mark.slow
def test_select_hard_process_keeps_light_quarks_only():
    pythia = make_pythia("quark", 3, PTHAT_MIN, PTHAT_MAX)
    events = pythia.nextBatch(300, "skip")
    prt = events.prt
    all_ids = np.abs(
        [ids[0] for ids in prt[(prt.status == -23) & (abs(prt.id) != 23)].id.tolist()]
    )
    selected, pthat = select_hard_process(events, "quark")
    selected_prt = selected.prt
    selected_ids = np.abs(
        [
            ids[0]
            for ids in selected_prt[
                (selected_prt.status == -23) & (abs(selected_prt.id) != 23)
            ].id.tolist()
        ]
    )
    # q g -> Z q produces c and b quarks too; these events must be dropped.
    assert np.isin(all_ids, (4, 5)).any()
    assert np.isin(selected_ids, (1, 2, 3)).all()
    assert len(selected) == np.isin(all_ids, (1, 2, 3)).sum()
    assert ((pthat >= PTHAT_MIN) & (pthat <= PTHAT_MAX)).all()


@pytest.mark.slow
def test_generate_jets_exact_count(samples):
    for jets in samples.values():
        assert jets.n_jets == N_JETS
        assert len(jets.particles) == N_JETS
        assert len(jets.pthat) == N_JETS


@pytest.mark.slow
def test_generate_jets_pass_cuts(samples):
    for process, jets in samples.items():
        assert (jets.jet_pt >= JET_PT_MIN).all(), process
        assert (jets.jet_pt <= JET_PT_MAX).all(), process
        assert (np.abs(jets.jet_y) < JET_ABS_Y_MAX).all(), process
        validate_jets(
            JetArrays(
                jets.particles, jets.labels, jets.jet_pt, jets.jet_y, jets.jet_phi
            ),
            process,
            require_both_classes=False,
        )


@pytest.mark.slow
def test_generate_jets_constituents_sum_to_jet(samples):
    for jets in samples.values():
        pt, y, phi = (jets.particles[:, :, c].astype(np.float64) for c in range(3))
        px = (pt * np.cos(phi)).sum(axis=1)
        py = (pt * np.sin(phi)).sum(axis=1)
        np.testing.assert_allclose(np.hypot(px, py), jets.jet_pt, rtol=1e-3)
        axis = np.arctan2(py, px)
        np.testing.assert_allclose(np.cos(axis - jets.jet_phi), 1.0, atol=1e-5)


@pytest.mark.slow
def test_generate_jets_phi_within_pi_of_axis(samples):
    for jets in samples.values():
        present = jets.particles[:, :, 0] > 0
        dphi = np.abs(jets.particles[:, :, 2] - jets.jet_phi[:, None])[present]
        assert dphi.max() <= np.pi + 1e-5


@pytest.mark.slow
def test_generate_jets_no_neutrinos(samples):
    for jets in samples.values():
        pids = np.abs(jets.particles[:, :, 3])
        assert not np.isin(pids, (12, 14, 16)).any()
        assert np.isin(pids, (211, 22)).any()


@pytest.mark.slow
def test_generate_jets_labels_match_process(samples):
    assert (samples["quark"].labels == 1).all()
    assert (samples["gluon"].labels == 0).all()


@pytest.mark.slow
def test_generate_gluon_multiplicity_exceeds_quark(samples):
    multiplicity = {
        process: (jets.particles[:, :, 0] > 0).sum(axis=1).mean()
        for process, jets in samples.items()
    }
    # Casimir scaling: gluon jets radiate more (about 53 against 33 particles).
    assert multiplicity["gluon"] > multiplicity["quark"] + 10


@pytest.mark.slow
def test_generate_jets_same_seed_identical():
    first = generate_jets("gluon", 20, 99, PTHAT_MIN, PTHAT_MAX)
    second = generate_jets("gluon", 20, 99, PTHAT_MIN, PTHAT_MAX)
    other = generate_jets("gluon", 20, pythia_seed(0, "gluon", 1), PTHAT_MIN, PTHAT_MAX)
    np.testing.assert_array_equal(first.particles, second.particles)
    np.testing.assert_array_equal(first.jet_pt, second.jet_pt)
    assert first.n_events == second.n_events
    assert not np.isin(first.jet_pt, other.jet_pt).any()


def test_generate_jets_invalid_count_raises():
    with pytest.raises(ValueError, match="n_jets=0"):
        generate_jets("quark", 0, 1, PTHAT_MIN, PTHAT_MAX)
