"""Measure jet generation speed, acceptance and the bias of the pT-hat window.

Part 1 (speed) generates quark and gluon jets with the configured pT-hat
window on one core. Per process, it prints the acceptance (kept jets /
generated events), jets per second, and the shares of wall time spent
inside Pythia, inside FastJet and in Python bookkeeping.

Part 2 (window bias): generates a reference sample with a wide pT-hat
window. Restricting Pythia to a narrower window gives the same events as
restricting the wide sample to that window, so the bias is the fraction of
wide-window kept jets whose pT-hat lies outside the chosen window, and the
difference between the pT and |y| histograms of all reference jets and of
those inside the window.

Usage (from the repository root, about 4 minutes on one core):

    .venv/bin/python benchmarks/bench_generation.py
    .venv/bin/python benchmarks/bench_generation.py --events 800 --reference-events 4000
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
from pathlib import Path

import numpy as np
import yaml

from moment_pooling.data.generate import generate_jets
from moment_pooling.data.selection import JET_ABS_Y_MAX, JET_PT_MAX, JET_PT_MIN

CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


def parse_args() -> argparse.Namespace:
    pythia_config = yaml.safe_load(CONFIG.read_text())["data"]["pythia"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pthat-min",
        type=float,
        default=pythia_config["pthat_min"],
        help="lower edge of the chosen pT-hat window in GeV (default: config.yaml)",
    )
    parser.add_argument(
        "--pthat-max",
        type=float,
        default=pythia_config["pthat_max"],
        help="upper edge of the chosen pT-hat window in GeV (default: config.yaml)",
    )
    parser.add_argument(
        "--reference-min",
        type=float,
        default=300.0,
        help="lower edge of the wide reference pT-hat window in GeV",
    )
    parser.add_argument(
        "--reference-max",
        type=float,
        default=1000.0,
        help="upper edge of the wide reference pT-hat window in GeV",
    )
    parser.add_argument(
        "--events",
        type=int,
        default=1200,
        help="events per process generated with the chosen window",
    )
    parser.add_argument(
        "--reference-events",
        type=int,
        default=6000,
        help="events per process generated with the reference window",
    )
    parser.add_argument("--seed", type=int, default=20240314, help="Pythia seed")
    return parser.parse_args()


def print_speed_table(results: dict) -> None:
    print("\nGeneration speed, chosen window, one core")
    print(
        f"{'process':8} {'events':>7} {'jets':>6} {'acceptance':>10} {'jets/s':>7} "
        f"{'ms/jet':>7} {'pythia %':>8} {'fastjet %':>9} {'python %':>8}"
    )
    for process, jets in results.items():
        times = jets.times
        print(
            f"{process:8} {jets.n_events:7d} {jets.n_jets:6d} "
            f"{jets.n_jets / jets.n_events:10.3f} {jets.n_jets / times.total:7.2f} "
            f"{1000 * times.total / jets.n_jets:7.1f} "
            f"{100 * times.pythia / times.total:8.1f} "
            f"{100 * times.fastjet / times.total:9.1f} "
            f"{100 * times.bookkeeping / times.total:8.1f}"
        )


def histogram_distance(
    values: np.ndarray, subset: np.ndarray, bins: np.ndarray
) -> float:
    """Return the largest bin-wise difference of the two normalised histograms."""
    full, _ = np.histogram(values, bins=bins)
    part, _ = np.histogram(subset, bins=bins)
    return float(np.max(np.abs(full / full.sum() - part / part.sum())))


def print_bias_table(reference: dict, window: tuple[float, float]) -> None:
    pt_bins = np.linspace(JET_PT_MIN, JET_PT_MAX, 6)
    y_bins = np.linspace(0.0, JET_ABS_Y_MAX, 6)
    print(f"\npT-hat window bias: chosen [{window[0]:g}, {window[1]:g}] GeV")
    print(
        f"{'process':8} {'ref jets':>8} {'ref acc':>7} {'below %':>7} {'above %':>7} "
        f"{'<pT> all':>8} {'<pT> in':>8} {'max dpT bin':>11} {'max d|y| bin':>12} "
        f"{'noise':>6} {'<n> all':>7} {'<n> in':>6} {'<n> out':>7}"
    )
    for process, jets in reference.items():
        below = jets.pthat < window[0]
        above = jets.pthat > window[1]
        inside = ~below & ~above
        abs_y = np.abs(jets.jet_y)
        multiplicity = (jets.particles[:, :, 0] > 0).sum(axis=1)
        # Standard deviation of one bin's difference if the jets outside the
        # window had the same spectrum, for a bin holding 20 % of the jets.
        outside = max(int((~inside).sum()), 1)
        noise = (outside / jets.n_jets) * np.sqrt(
            0.2 * 0.8 * (1 / inside.sum() + 1 / outside)
        )
        print(
            f"{process:8} {jets.n_jets:8d} {jets.n_jets / jets.n_events:7.3f} "
            f"{100 * below.mean():7.2f} {100 * above.mean():7.2f} "
            f"{jets.jet_pt.mean():8.2f} {jets.jet_pt[inside].mean():8.2f} "
            f"{histogram_distance(jets.jet_pt, jets.jet_pt[inside], pt_bins):11.4f} "
            f"{histogram_distance(abs_y, abs_y[inside], y_bins):12.4f} "
            f"{noise:6.4f} {multiplicity.mean():7.1f} "
            f"{multiplicity[inside].mean():6.1f} {multiplicity[~inside].mean():7.1f}"
        )
    print(
        "below/above %: reference jets with pT-hat outside the chosen window; "
        "max d bin: largest difference of normalised 5-bin histograms, "
        "all reference jets against those inside the window; noise: its expected "
        "statistical size; <n>: mean multiplicity of all jets, inside, outside"
    )
    for process, jets in reference.items():
        quantiles = np.percentile(jets.pthat, [0.5, 1, 2, 5, 50, 95, 98, 99, 99.5])
        print(
            f"{process} pT-hat quantiles 0.5,1,2,5,50,95,98,99,99.5 %: "
            f"{np.round(quantiles)}"
        )


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(
        f"host: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}"
    )

    chosen = {
        process: generate_jets(
            process,
            10**9,
            args.seed,
            args.pthat_min,
            args.pthat_max,
            max_events=args.events,
        )
        for process in ("quark", "gluon")
    }
    print_speed_table(chosen)
    for process, jets in chosen.items():
        multiplicity = (jets.particles[:, :, 0] > 0).sum(axis=1)
        print(f"{process} mean multiplicity {multiplicity.mean():.1f}")

    reference = {
        process: generate_jets(
            process,
            10**9,
            args.seed + 1,
            args.reference_min,
            args.reference_max,
            max_events=args.reference_events,
        )
        for process in ("quark", "gluon")
    }
    print_bias_table(reference, (args.pthat_min, args.pthat_max))


if __name__ == "__main__":
    main()
