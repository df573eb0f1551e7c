"""Generate quark and gluon jets with Pythia 8 and FastJet.

Processes (pp at sqrt(s) = 14 TeV, Pythia default tune, hadronization and
multiple parton interactions on, Z decaying only to neutrinos):

- gluon jets: q qbar -> Z g (``WeakBosonAndParton:qqbar2gmZg``),
- quark jets: q g -> Z q (``WeakBosonAndParton:qg2gmZq``), keeping only
  events whose outgoing quark is u, d or s.

The label comes from the outgoing parton of the hard process (status -23 in
the Pythia event record). All final-state particles except neutrinos are
clustered with anti-kT, R = 0.4. The hardest jet of an event is kept when
500 <= pT <= 550 GeV and |y| < 1.7, so an event gives at most one jet.
Particles are stored as (pt [GeV], y, phi [rad], pid), with phi shifted to
lie within pi of the jet axis.

Events come from ``Pythia.nextBatch`` and are clustered by the scikit-hep
``fastjet`` package in one call per batch, so that the Python code only does
array bookkeeping.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import awkward as ak
import fastjet
import numpy as np
import pythia8mc

from moment_pooling.data.selection import (
    JET_ABS_Y_MAX,
    JET_PT_MAX,
    JET_PT_MIN,
    JET_R,
    LABELS,
    NEUTRINO_PIDS,
    QUARK_FLAVOURS,
)

# Pythia's Random:seed accepts integers in [1, 900000000]; 0 means "seed from
# the clock", which would break reproducibility.
PYTHIA_SEED_MAX = 900_000_000

PROCESS_SETTINGS = {
    "gluon": "WeakBosonAndParton:qqbar2gmZg = on",
    "quark": "WeakBosonAndParton:qg2gmZq = on",
}

# Events per nextBatch call are bounded to keep memory low: a gluon event
# record has about 1500 entries, so 400 events are about 65 MB of awkward
# arrays (measured with pT-hat in [450, 650] GeV), plus copies made by cuts.
MIN_BATCH_EVENTS = 50
MAX_BATCH_EVENTS = 400

# Seconds between progress lines in the log.
PROGRESS_INTERVAL_S = 20.0


@dataclass
class GenerationTimes:
    """Wall-clock seconds spent in each part of jet generation."""

    pythia: float = 0.0
    fastjet: float = 0.0
    total: float = 0.0

    @property
    def bookkeeping(self) -> float:
        """Seconds outside Pythia and FastJet (array selection and padding)."""
        return self.total - self.pythia - self.fastjet


@dataclass
class GeneratedJets:
    """Kept jets of one process, with per-jet kinematics and run statistics.

    ``particles`` has shape (n_jets, max multiplicity, 4) with columns
    (pt [GeV], y, phi [rad], pid) and zero padding.
    """

    process: str
    seed: int
    particles: np.ndarray
    labels: np.ndarray
    jet_pt: np.ndarray
    jet_y: np.ndarray
    jet_phi: np.ndarray
    pthat: np.ndarray
    n_events: int
    times: GenerationTimes = field(default_factory=GenerationTimes)

    @property
    def n_jets(self) -> int:
        return len(self.labels)


def pythia_seed(base_seed: int, process: str, shard: int) -> int:
    """Derive the Pythia seed of one shard from the base seed, process and index.

    The three integers are mixed by ``numpy.random.SeedSequence``, so nearby
    shards get unrelated seeds, and the result lies in [1, 900000000].
    """
    if process not in PROCESS_SETTINGS:
        raise ValueError(
            f"Unknown process {process!r}: expected one of {sorted(PROCESS_SETTINGS)}."
        )
    if base_seed < 0 or shard < 0:
        raise ValueError(
            "base_seed and shard must be non-negative integers. "
            f"Received: base_seed={base_seed}, shard={shard}"
        )
    process_index = sorted(PROCESS_SETTINGS).index(process)
    state = np.random.SeedSequence([base_seed, process_index, shard]).generate_state(1)
    return int(state[0] % PYTHIA_SEED_MAX) + 1


def make_pythia(process: str, seed: int, pthat_min: float, pthat_max: float):
    """Configure and initialise a quiet Pythia instance for one process."""
    if process not in PROCESS_SETTINGS:
        raise ValueError(
            f"Unknown process {process!r}: expected one of {sorted(PROCESS_SETTINGS)}."
        )
    if not 1 <= seed <= PYTHIA_SEED_MAX:
        raise ValueError(
            f"Pythia seeds must lie in [1, {PYTHIA_SEED_MAX}]. Received: seed={seed}"
        )
    if not 0 < pthat_min < pthat_max:
        raise ValueError(
            "The pT-hat window must satisfy 0 < pthat_min < pthat_max. "
            f"Received: pthat_min={pthat_min}, pthat_max={pthat_max}"
        )
    pythia = pythia8mc.Pythia("", False)  # False: do not print the banner
    settings = [
        "Beams:eCM = 14000.",
        PROCESS_SETTINGS[process],
        # gmZmode = 2: only the Z contribution, no gamma* interference.
        "WeakZ0:gmZmode = 2",
        "23:onMode = off",
        "23:onIfAny = 12 14 16",
        f"PhaseSpace:pTHatMin = {pthat_min}",
        f"PhaseSpace:pTHatMax = {pthat_max}",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Print:quiet = on",
    ]
    for setting in settings:
        if not pythia.readString(setting):
            raise RuntimeError(f"Pythia rejected the setting {setting!r}.")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialise for process {process!r}.")
    return pythia


def _rapidity(energy: np.ndarray, pz: np.ndarray) -> np.ndarray:
    return 0.5 * np.log((energy + pz) / (energy - pz))


def select_hard_process(events: ak.Array, process: str) -> tuple[ak.Array, ak.Array]:
    """Return the events whose hard-process parton matches ``process``, and pT-hat."""
    prt = events.prt
    hard = prt[(prt.status == -23) & (abs(prt.id) != 23)]
    parton_id = ak.to_numpy(ak.fill_none(ak.firsts(hard.id), 0))
    if process == "quark":
        keep = np.isin(np.abs(parton_id), QUARK_FLAVOURS)
    else:
        keep = parton_id == 21
    pthat = np.sqrt(ak.to_numpy(events.info.pT2Hat))
    return events[keep], pthat[keep]


def _final_state_momenta(events: ak.Array) -> tuple[ak.Array, ak.Array]:
    """Return the non-neutrino final-state momenta (Momentum4D) and their PDG ids."""
    prt = events.prt
    abs_id = abs(prt.id)
    visible = prt.status > 0
    for pid in NEUTRINO_PIDS:  # np.isin does not accept jagged arrays
        visible = visible & (abs_id != pid)
    final = prt[visible]
    momenta = ak.zip(
        {"px": final.p.px, "py": final.p.py, "pz": final.p.pz, "E": final.p.e},
        with_name="Momentum4D",
    )
    return momenta, final.id


def _hardest_jets(
    momenta: ak.Array,
) -> tuple[ak.Array, ak.Array]:
    """Cluster all events in one call; return each hardest jet and its constituents."""
    cluster = fastjet.ClusterSequence(
        momenta, fastjet.JetDefinition(fastjet.antikt_algorithm, JET_R)
    )
    jets = cluster.inclusive_jets()
    constituent_index = cluster.constituent_index()
    hardest = ak.argmax(np.hypot(jets.px, jets.py), axis=1, keepdims=True)
    return ak.firsts(jets[hardest]), ak.firsts(constituent_index[hardest])


def _pad(columns: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
    """Scatter flat per-particle columns into a zero-padded (jets, M, ncol) array."""
    n_jets = len(counts)
    width = int(counts.max()) if n_jets else 0
    padded = np.zeros((n_jets, width, len(columns)), dtype=np.float32)
    rows = np.repeat(np.arange(n_jets), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    cols = np.arange(len(rows)) - starts
    for c, values in enumerate(columns):
        padded[rows, cols, c] = values
    return padded


def process_batch(events: ak.Array, process: str, times: GenerationTimes) -> dict:
    """Select, cluster and cut one batch of Pythia events.

    Returns a dict of numpy arrays for the kept jets: ``particles`` (padded to
    the batch's largest multiplicity, constituents ordered by decreasing pT),
    ``jet_pt``, ``jet_y``, ``jet_phi`` and ``pthat``.
    """
    events, pthat = select_hard_process(events, process)
    momenta, pids = _final_state_momenta(events)

    start = time.perf_counter()
    jet, index = _hardest_jets(momenta)
    times.fastjet += time.perf_counter() - start

    has_jet = ak.to_numpy(~ak.is_none(jet))
    jet, index, momenta, pids, pthat = (
        ak.drop_none(jet[has_jet], axis=0),
        ak.drop_none(index[has_jet], axis=0),
        momenta[has_jet],
        pids[has_jet],
        pthat[has_jet],
    )
    px, py = ak.to_numpy(jet.px), ak.to_numpy(jet.py)
    jet_pt = np.hypot(px, py)
    jet_y = _rapidity(ak.to_numpy(jet.E), ak.to_numpy(jet.pz))
    jet_phi = np.arctan2(py, px)
    keep = (
        (jet_pt >= JET_PT_MIN)
        & (jet_pt <= JET_PT_MAX)
        & (np.abs(jet_y) < JET_ABS_Y_MAX)
    )

    constituents = momenta[keep][index[keep]]
    constituent_pids = pids[keep][index[keep]]
    order = ak.argsort(
        np.hypot(constituents.px, constituents.py), axis=1, ascending=False
    )
    constituents, constituent_pids = constituents[order], constituent_pids[order]

    counts = ak.to_numpy(ak.num(constituents))
    flat = ak.flatten(constituents)
    px, py = ak.to_numpy(flat.px), ak.to_numpy(flat.py)
    pz, energy = ak.to_numpy(flat.pz), ak.to_numpy(flat.E)
    axis_phi = np.repeat(jet_phi[keep], counts)
    # Shift phi into [axis - pi, axis + pi), so a jet near phi = +-pi stays contiguous.
    phi = axis_phi + np.mod(np.arctan2(py, px) - axis_phi + np.pi, 2 * np.pi) - np.pi
    columns = [
        np.hypot(px, py),
        _rapidity(energy, pz),
        phi,
        ak.to_numpy(ak.flatten(constituent_pids)).astype(np.float64),
    ]
    return {
        "particles": _pad(columns, counts),
        "jet_pt": jet_pt[keep],
        "jet_y": jet_y[keep],
        "jet_phi": jet_phi[keep],
        "pthat": pthat[keep],
        "n_events": len(has_jet),
    }


def _concatenate_padded(blocks: list[np.ndarray]) -> np.ndarray:
    width = max((b.shape[1] for b in blocks), default=0)
    padded = [np.pad(b, ((0, 0), (0, width - b.shape[1]), (0, 0))) for b in blocks]
    if not padded:
        return np.zeros((0, 0, 4), dtype=np.float32)
    return np.concatenate(padded)


def generate_jets(
    process: str,
    n_jets: int,
    seed: int,
    pthat_min: float,
    pthat_max: float,
    logger: logging.Logger | None = None,
    max_events: int | None = None,
) -> GeneratedJets:
    """Generate events until exactly ``n_jets`` jets pass the cuts.

    ``max_events`` stops early (for benchmarks); without it the loop runs until
    ``n_jets`` jets are kept. The result depends only on the arguments, so the
    same seed gives identical arrays.
    """
    if n_jets < 1:
        raise ValueError(
            f"n_jets must be a positive integer. Received: n_jets={n_jets}"
        )
    logger = logger or logging.getLogger(__name__)
    times = GenerationTimes()
    start = time.perf_counter()

    pythia = make_pythia(process, seed, pthat_min, pthat_max)
    times.pythia += time.perf_counter() - start

    blocks: dict[str, list[np.ndarray]] = {
        "particles": [],
        "jet_pt": [],
        "jet_y": [],
        "jet_phi": [],
        "pthat": [],
    }
    n_kept = n_events = 0
    last_report = time.perf_counter()
    while n_kept < n_jets and (max_events is None or n_events < max_events):
        # Request enough events for the remaining jets at the acceptance so far.
        acceptance = n_kept / n_events if n_kept else 0.3
        batch = int(np.ceil(1.1 * (n_jets - n_kept) / max(acceptance, 0.02)))
        batch = min(max(batch, MIN_BATCH_EVENTS), MAX_BATCH_EVENTS)
        if max_events is not None:
            batch = min(batch, max_events - n_events)

        tick = time.perf_counter()
        events = pythia.nextBatch(batch, "skip")
        times.pythia += time.perf_counter() - tick

        result = process_batch(events, process, times)
        n_events += batch
        for name in blocks:
            blocks[name].append(result[name])
        n_kept += len(result["jet_pt"])

        now = time.perf_counter()
        if now - last_report > PROGRESS_INTERVAL_S or n_kept >= n_jets:
            last_report = now
            elapsed = now - start
            logger.info(
                "%s seed %d: %d/%d jets kept from %d events (acceptance %.3f), "
                "%.1f jets/s",
                process,
                seed,
                min(n_kept, n_jets),
                n_jets,
                n_events,
                n_kept / n_events,
                n_kept / elapsed,
            )

    particles = _concatenate_padded(blocks["particles"])[:n_jets]
    # Trim the padding that belonged only to jets cut off by [:n_jets].
    multiplicity = (particles[:, :, 0] > 0).sum(axis=1)
    particles = particles[:, : int(multiplicity.max(initial=0))]
    arrays = {
        name: np.concatenate(blocks[name])[:n_jets]
        for name in blocks
        if name != "particles"
    }
    times.total = time.perf_counter() - start
    return GeneratedJets(
        process=process,
        seed=seed,
        particles=particles,
        labels=np.full(len(particles), LABELS[process], dtype=np.int64),
        jet_pt=arrays["jet_pt"],
        jet_y=arrays["jet_y"],
        jet_phi=arrays["jet_phi"],
        pthat=arrays["pthat"],
        n_events=n_events,
        times=times,
    )
