"""Parameter counts and the architecture sampler of the scans, without Keras.

Snakemake imports this module while it parses the workflow, to fix the scan's
architecture draws, so it must not import TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from moment_pooling.checks import check_positive_int, is_positive_int

__all__ = [
    "SCAN_DEPTH",
    "count_moment_efn_params",
    "sample_architectures",
]

# Number of angular inputs per particle: (y, phi).
N_ANGULAR_INPUTS = 2

# Largest number of moments C(L + k, k) - 1 that F may take as input. Each
# jet's moment vector is computed in float32 before F, so 10^6 moments are
# 4 MB per jet and about 1 GB for a batch of 256 jets, and F's first layer
# has 10^6 weights per unit. The configs use at most C(35, 3) - 1 = 6544.
MAX_MOMENTS = 10**6


def _check_sizes(sizes: Sequence[int], name: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(
            f"Invalid value for `{name}`: expected a sequence of positive integers "
            f"(hidden layer widths), e.g. [{sizes!r}] for one layer. "
            f"Received: {name}={sizes!r}"
        ) from None
    for width in sizes:
        if not is_positive_int(width):
            raise ValueError(
                f"Invalid value for `{name}`: expected a sequence of positive "
                f"integers. Received: {name}={sizes!r}"
            )
    return tuple(int(width) for width in sizes)


def _check_architecture(
    latent_dim, order, Phi_sizes, F_sizes, linear_Phi, linear_F
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    check_positive_int(latent_dim, "latent_dim")
    check_positive_int(order, "order")
    n_moments = math.comb(latent_dim + order, order) - 1
    if n_moments > MAX_MOMENTS:
        raise ValueError(
            f"latent_dim={latent_dim} and order={order} give C(L + k, k) - 1 = "
            f"{n_moments} moments, more than the limit of {MAX_MOMENTS}, which "
            "would need too much memory per jet. Lower latent_dim or order."
        )
    Phi_sizes = _check_sizes(Phi_sizes, "Phi_sizes")
    F_sizes = _check_sizes(F_sizes, "F_sizes")
    if linear_Phi and Phi_sizes:
        raise ValueError(
            "linear_Phi=True makes Phi a single Dense(latent_dim) layer, so it takes "
            f"no hidden layers. Received: Phi_sizes={Phi_sizes}. Pass Phi_sizes=()."
        )
    if linear_F and F_sizes:
        raise ValueError(
            "linear_F=True makes F a single Dense(1) layer, so it takes no hidden "
            f"layers. Received: F_sizes={F_sizes}. Pass F_sizes=()."
        )
    return Phi_sizes, F_sizes


def count_moment_efn_params(
    latent_dim: int,
    order: int,
    Phi_sizes: Sequence[int],
    F_sizes: Sequence[int],
    *,
    linear_Phi: bool = False,
    linear_F: bool = False,
) -> int:
    """Return the number of weights of ``build_moment_efn`` with these arguments.

    Every Dense layer has (inputs + 1) x outputs weights. Phi maps 2 inputs
    through ``Phi_sizes`` to ``latent_dim``; F maps the C(L + k, k) - 1
    moments through ``F_sizes`` to 1.
    """
    Phi_sizes, F_sizes = _check_architecture(
        latent_dim, order, Phi_sizes, F_sizes, linear_Phi, linear_F
    )
    n_moments = math.comb(latent_dim + order, order) - 1
    widths_Phi = (N_ANGULAR_INPUTS, *Phi_sizes, latent_dim)
    widths_F = (n_moments, *F_sizes, 1)
    return sum(
        (n_in + 1) * n_out
        for widths in (widths_Phi, widths_F)
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=False)
    )


def _count_grid(
    order: int, Phi_width, F_width, latent_dim, *, n_layers: int, linear_F: bool
):
    """Count weights like ``count_moment_efn_params``, vectorised over a grid.

    Phi and F have ``n_layers`` hidden layers of one width each.
    """
    n_moments = np.array(
        [math.comb(int(L) + order, order) - 1 for L in latent_dim.ravel()]
    )
    n_moments = n_moments.reshape(latent_dim.shape)
    Phi_count = (
        (N_ANGULAR_INPUTS + 1) * Phi_width
        + (n_layers - 1) * (Phi_width + 1) * Phi_width
        + (Phi_width + 1) * latent_dim
    )
    if linear_F:
        F_count = n_moments + 1
    else:
        F_count = (
            (n_moments + 1) * F_width
            + (n_layers - 1) * (F_width + 1) * F_width
            + (F_width + 1)
        )
    return Phi_count + F_count


# Phi and F of the scan draws have this many hidden layers of one width.
SCAN_DEPTH = 3


def sample_architectures(
    order: int,
    n_draws: int,
    *,
    latent_max: int,
    width_max: int = 128,
    seed: int,
    linear_F: bool = False,
) -> list[dict]:
    """Draw (Phi_width, F_width, latent_dim) with log-uniform parameter counts.

    The grid is every Phi width and F width in 1..``width_max`` (F width 1
    when ``linear_F``) and every L in 1..``latent_max``, with Phi and F of
    three hidden layers of that width. Uniform draws from the grid would put
    nearly all counts near the top of the range, because the number of
    architectures grows with the count. Instead each draw picks a target log
    count uniformly between the smallest and largest count on the grid. It then
    picks uniformly among the grid points whose log count lies within 1 % of
    the log range of the target, or the nearest point when none does. So log
    counts are uniform up to that window, and the architecture is random among
    those of similar size.

    Returns one dict per draw with ``Phi_width``, ``F_width``,
    ``latent_dim`` and ``n_params`` (Python ints). The result depends only on
    the arguments.
    """
    for name, value in (
        ("order", order),
        ("n_draws", n_draws),
        ("latent_max", latent_max),
        ("width_max", width_max),
    ):
        check_positive_int(value, name)
    F_widths = np.array([1]) if linear_F else np.arange(1, width_max + 1)
    Phi_grid, F_grid, L_grid = np.meshgrid(
        np.arange(1, width_max + 1),
        F_widths,
        np.arange(1, latent_max + 1),
        indexing="ij",
    )
    Phi_grid, F_grid, L_grid = Phi_grid.ravel(), F_grid.ravel(), L_grid.ravel()
    counts = _count_grid(
        order, Phi_grid, F_grid, L_grid, n_layers=SCAN_DEPTH, linear_F=linear_F
    )
    log_counts = np.log(counts)
    log_min, log_max = log_counts.min(), log_counts.max()
    window = 0.01 * (log_max - log_min)

    rng = np.random.default_rng(seed)
    draws = []
    for target in rng.uniform(log_min, log_max, size=n_draws):
        distance = np.abs(log_counts - target)
        candidates = np.flatnonzero(distance <= window)
        if candidates.size == 0:
            candidates = np.flatnonzero(distance == distance.min())
        index = candidates[rng.integers(candidates.size)]
        draws.append(
            {
                "Phi_width": int(Phi_grid[index]),
                "F_width": int(F_grid[index]),
                "latent_dim": int(L_grid[index]),
                "n_params": int(counts[index]),
            }
        )
    return draws
