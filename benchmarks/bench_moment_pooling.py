"""Time Moment-EFN training epochs over a grid of (order k, latent dimension L).

Each configuration trains in a fresh subprocess, so that its peak resident
memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which also counts
TensorFlow's allocations) is its own. Phi and F have two hidden layers of
width 100. Inputs are random jets shaped like the quark/gluon sample:
Poisson(40) particles padded to ``--particles``, exponential energy fractions
and Gaussian (y, phi) of width 0.1 rad.

Two pooling implementations are compared:

- ``matmul``: ``moment_pooling.layers.MomentPooling``, which contracts
  monomials of degree up to ceil(k/2) with batched matmuls, one per group
  of latent indices and order.
- ``naive``: ``NaivePerParticleMoments`` below, the reference that forms
  every degree-j product for every particle, B x M x C(L + j - 1, j) values
  per order j.

Usage:

    python benchmarks/bench_moment_pooling.py             # full grid
    python benchmarks/bench_moment_pooling.py --quick     # targets, smaller epochs
    python benchmarks/bench_moment_pooling.py --onednn 0  # TensorFlow's default kernels

``--onednn`` sets TF_ENABLE_ONEDNN_OPTS in each subprocess. The default, 1,
is what the workflow's Snakefile sets.

Each timed value is the fastest of the timed epochs (the first epoch, which
traces the graph, is not timed), because other processes on a shared machine
only ever make an epoch slower. With ``--rounds N`` the whole list of
configurations runs N times in turn, each in fresh subprocesses. Each
configuration reports its fastest round, so that a slow spell of the machine
does not fall on one configuration only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time

# Largest L per order, as in the quark/gluon scan: C(L + k, k) - 1 moments
# stay below about 10^4.
LATENT_MAX = {1: 128, 2: 64, 3: 32, 4: 16}
LATENT_GRID = (1, 2, 4, 8, 16, 32, 64, 128)
WIDTH = 100


def full_grid() -> list[tuple[str, int, int]]:
    configs = [
        ("matmul", k, L)
        for k, L in itertools.product(range(1, 5), LATENT_GRID)
        if L <= LATENT_MAX[k]
    ]
    configs += [
        ("naive", k, L) for k, L in [(2, 8), (2, 64), (3, 8), (3, 32), (4, 8), (4, 16)]
    ]
    return configs


def quick_grid() -> list[tuple[str, int, int]]:
    configs = [("matmul", k, 8) for k in range(1, 5)]
    configs += [
        ("matmul", 1, 128),
        ("matmul", 2, 64),
        ("matmul", 3, 32),
        ("matmul", 4, 16),
    ]
    configs += [("naive", 3, 32)]
    return configs


# --- child process: one configuration -------------------------------------------


def naive_pooling_class():
    """Define the reference layer; imports Keras only inside the child process."""
    import keras
    from keras import ops

    from moment_pooling.layers import moment_multisets

    class NaivePerParticleMoments(keras.layers.Layer):
        """Moments from explicit per-particle products of Phi components."""

        def __init__(self, order, **kwargs):
            super().__init__(**kwargs)
            self.order = order

        def build(self, input_shape):
            L = input_shape[1][-1]
            multisets = moment_multisets(L, self.order)
            self._indices = [
                [
                    [m[position] for m in multisets if len(m) == degree]
                    for position in range(degree)
                ]
                for degree in range(1, self.order + 1)
            ]

        def call(self, inputs):
            z, Phi = inputs
            moments = []
            for columns in self._indices:
                product = ops.take(Phi, columns[0], axis=-1)
                for column in columns[1:]:
                    product = product * ops.take(Phi, column, axis=-1)
                moments.append(ops.einsum("bm,bmf->bf", z, product))
            return ops.concatenate(moments, axis=-1)

    return NaivePerParticleMoments


def random_jets(n_jets: int, particles: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    multiplicity = np.clip(rng.poisson(40, n_jets), 2, particles)
    present = np.arange(particles)[None, :] < multiplicity[:, None]
    pt = rng.exponential(size=(n_jets, particles)) * present
    z = pt / pt.sum(axis=1, keepdims=True)
    yphi = rng.normal(scale=0.1, size=(n_jets, particles, 2)) * present[..., None]
    labels = rng.integers(0, 2, n_jets)
    return z.astype("float32"), yphi.astype("float32"), labels.astype("float32")


def run_one(impl: str, order: int, latent_dim: int, args) -> dict:
    import keras

    from moment_pooling.layers import MomentPooling
    from moment_pooling.models import build_moment_efn

    keras.utils.set_random_seed(0)
    z, yphi, labels = random_jets(args.jets, args.particles, seed=0)
    model = build_moment_efn(latent_dim, order, (WIDTH, WIDTH), (WIDTH, WIDTH))
    if impl == "naive":
        naive = naive_pooling_class()

        def swap_pooling(layer):
            if isinstance(layer, MomentPooling):
                return naive(layer.order, name=layer.name)
            return layer.__class__.from_config(layer.get_config())

        model = keras.models.clone_model(model, clone_function=swap_pooling)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    timer = EpochTimer()
    model.fit(
        [z, yphi],
        labels,
        batch_size=args.batch_size,
        epochs=1 + args.epochs,
        verbose=0,
        callbacks=[timer],
    )
    seconds = min(timer.seconds[1:])
    return {
        "impl": impl,
        "order": order,
        "latent_dim": latent_dim,
        "n_moments": math.comb(latent_dim + order, order) - 1,
        "n_params": model.count_params(),
        "seconds_per_epoch": seconds,
        "jets_per_second": args.jets / seconds,
        "rss_before_training_mib": rss_before_kib / 1024,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


# --- parent process: grid, table and targets ------------------------------------


def run_in_subprocess(impl: str, order: int, latent_dim: int, args) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        f"{impl},{order},{latent_dim}",
        "--jets",
        str(args.jets),
        "--particles",
        str(args.particles),
        "--batch-size",
        str(args.batch_size),
        "--epochs",
        str(args.epochs),
    ]
    environment = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TF_ENABLE_ONEDNN_OPTS": args.onednn,
    }
    result = subprocess.run(command, capture_output=True, text=True, env=environment)
    if result.returncode != 0:
        raise RuntimeError(
            f"Benchmark of {impl} k={order} L={latent_dim} failed:\n"
            + result.stderr[-3000:]
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def format_table(results: list[dict]) -> str:
    header = (
        "| impl | k | L | moments | params | s/epoch | jets/s | "
        "RSS before fit [MiB] | peak RSS [MiB] |"
    )
    lines = [header, "|" + "---|" * 9]
    for r in results:
        cells = [
            r["impl"],
            r["order"],
            r["latent_dim"],
            r["n_moments"],
            r["n_params"],
            f"{r['seconds_per_epoch']:.2f}",
            f"{r['jets_per_second']:.0f}",
            f"{r['rss_before_training_mib']:.0f}",
            f"{r['peak_rss_mib']:.0f}",
        ]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def check_targets(results: list[dict]) -> list[str]:
    """Compare the measured epochs with the speed targets; one line per target."""
    seconds = {
        (r["impl"], r["order"], r["latent_dim"]): r["seconds_per_epoch"]
        for r in results
    }
    lines = []
    for (impl, k, L), value in sorted(seconds.items()):
        baseline = seconds.get(("matmul", 1, L))
        if impl == "matmul" and k > 1 and L <= 8 and baseline:
            ratio = value / baseline
            verdict = "met" if ratio <= 1.25 else "MISSED"
            lines.append(
                f"k={k}, L={L} vs k=1, L={L}: {ratio:.2f}x (target <= 1.25x) {verdict}"
            )
    reference = seconds.get(("matmul", 1, 128))
    for k, L in [(2, 64), (3, 32), (4, 16)]:
        value = seconds.get(("matmul", k, L))
        if reference and value:
            ratio = value / reference
            verdict = "met" if ratio <= 3 else "MISSED"
            lines.append(
                f"k={k}, L={L} vs k=1, L=128: {ratio:.2f}x (target <= 3x) {verdict}"
            )
    for k, L in [(2, 64), (3, 32), (4, 16), (2, 8), (3, 8), (4, 8)]:
        fast, naive = seconds.get(("matmul", k, L)), seconds.get(("naive", k, L))
        if fast and naive:
            speedup = naive / fast
            line = f"k={k}, L={L}: matmul {speedup:.1f}x faster than naive"
            if (k, L) == (3, 32):
                line += " (target >= 10x) " + ("met" if speedup >= 10 else "MISSED")
            lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="time only the configurations named by the targets, with smaller epochs",
    )
    parser.add_argument(
        "--jets", type=int, help="jets per epoch (default 8192, 2048 with --quick)"
    )
    parser.add_argument(
        "--particles",
        type=int,
        help="padded particles per jet (default 100, 64 with --quick)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=256, help="jets per batch (default 256)"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="timed epochs after one untimed epoch (default 3, 5 with --quick)",
    )
    parser.add_argument(
        "--onednn",
        choices=["0", "1"],
        default="1",
        help="TF_ENABLE_ONEDNN_OPTS of the timed processes (default 1, as in the "
        "workflow)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="number of times to run the whole list of configurations. Each "
        "configuration reports its fastest round (default 1)",
    )
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.jets is None:
        args.jets = 2048 if args.quick else 8192
    if args.particles is None:
        args.particles = 64 if args.quick else 100
    if args.epochs is None:
        # Epochs of a few batches last 0.1 to 1 s. On a 2-core machine single
        # epochs varied by tens of percent, so the fastest of several is used.
        args.epochs = 5 if args.quick else 3

    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")

    if args.child:
        impl, order, latent_dim = args.child.split(",")
        print(json.dumps(run_one(impl, int(order), int(latent_dim), args)))
        return

    configs = quick_grid() if args.quick else full_grid()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"{args.jets} jets/epoch, {args.particles} particles, batch {args.batch_size}, "
        f"Phi and F widths ({WIDTH}, {WIDTH}); best of {args.epochs} epochs "
        f"in each of {args.rounds} rounds; "
        f"TF_ENABLE_ONEDNN_OPTS={args.onednn}",
        flush=True,
    )
    best: dict[tuple[str, int, int], dict] = {}
    for round_index in range(args.rounds):
        for impl, order, latent_dim in configs:
            result = run_in_subprocess(impl, order, latent_dim, args)
            print(
                f"round {round_index + 1}: {impl} k={order} L={latent_dim}: "
                f"{result['seconds_per_epoch']:.2f} s/epoch, "
                f"peak RSS {result['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
            key = (impl, order, latent_dim)
            if (
                key not in best
                or result["seconds_per_epoch"] < best[key]["seconds_per_epoch"]
            ):
                best[key] = result
    results = [best[key] for key in configs]
    print()
    print(format_table(results))
    print()
    print("\n".join(check_targets(results)))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main()
