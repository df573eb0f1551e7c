"""Moment-EFN builders, parameter counts and the architecture sampler of the scans."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import keras
import numpy as np

from moment_pooling.layers import MomentPooling

__all__ = [
    "build_moment_efn",
    "count_moment_efn_params",
    "phi_network",
    "sample_architectures",
]

TASKS = ("classification", "regression")

# Number of angular inputs per particle: (y, phi).
N_ANGULAR_INPUTS = 2


def _check_sizes(sizes: Sequence[int], name: str) -> tuple[int, ...]:
    sizes = tuple(sizes)
    for width in sizes:
        if (
            isinstance(width, bool)
            or not isinstance(width, numbers.Integral)
            or width < 1
        ):
            raise ValueError(
                f"Invalid value for `{name}`: expected a sequence of positive "
                f"integers. Received: {name}={sizes!r}"
            )
    return tuple(int(width) for width in sizes)


def _check_architecture(
    latent_dim, order, Phi_sizes, F_sizes, linear_Phi, linear_F
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    for name, value in (("latent_dim", latent_dim), ("order", order)):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or value < 1
        ):
            raise ValueError(
                f"Invalid value for `{name}`: expected a positive integer. "
                f"Received: {name}={value!r}"
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


def build_moment_efn(
    latent_dim: int,
    order: int,
    Phi_sizes: Sequence[int] = (100, 100),
    F_sizes: Sequence[int] = (100, 100),
    *,
    task: str = "classification",
    linear_Phi: bool = False,
    linear_F: bool = False,
    Phi_l1: float = 0.0,
    F_l1: float = 0.0,
    activation: str = "leaky_relu",
) -> keras.Model:
    """Build an uncompiled Moment-EFN of order ``order`` and latent dimension L.

    The model maps inputs ``z`` (batch, particles) and ``yphi``
    (batch, particles, 2) to one output per jet. Phi, applied to each
    particle, is Dense layers of widths ``Phi_sizes`` followed by a
    Dense(latent_dim) layer, all with ``activation``. ``MomentPooling(order)``
    pools Phi over the particles. F is Dense layers of widths ``F_sizes`` with
    ``activation``, followed by Dense(1) with a sigmoid ("classification") or
    no activation ("regression").

    ``linear_Phi`` makes Phi one Dense(latent_dim) without activation, and
    ``linear_F`` makes F one Dense(1), still with the sigmoid for
    classification. Both require the matching sizes to be empty. ``Phi_l1``
    and ``F_l1`` add L1 penalties on the kernels of the Phi and F layers,
    where the output layer counts as F. Layers are named "Phi_0", ...,
    "moment_pooling", "F_0", ..., "output".
    """
    Phi_sizes, F_sizes = _check_architecture(
        latent_dim, order, Phi_sizes, F_sizes, linear_Phi, linear_F
    )
    if task not in TASKS:
        raise ValueError(
            f"Invalid value for `task`: expected one of {TASKS}. "
            f"Received: task={task!r}"
        )
    for name, value in (("Phi_l1", Phi_l1), ("F_l1", F_l1)):
        if not value >= 0:
            raise ValueError(
                f"Invalid value for `{name}`: expected a non-negative number. "
                f"Received: {name}={value!r}"
            )
    Phi_regularizer = keras.regularizers.L1(Phi_l1) if Phi_l1 else None
    F_regularizer = keras.regularizers.L1(F_l1) if F_l1 else None

    z = keras.Input(shape=(None,), name="z")
    yphi = keras.Input(shape=(None, N_ANGULAR_INPUTS), name="yphi")

    Phi_widths = (*Phi_sizes, latent_dim)
    Phi_activation = None if linear_Phi else activation
    Phi = yphi
    for i, width in enumerate(Phi_widths):
        Phi = keras.layers.Dense(
            width,
            activation=Phi_activation,
            kernel_regularizer=Phi_regularizer,
            name=f"Phi_{i}",
        )(Phi)

    x = MomentPooling(order, name="moment_pooling")([z, Phi])
    for i, width in enumerate(F_sizes):
        x = keras.layers.Dense(
            width,
            activation=activation,
            kernel_regularizer=F_regularizer,
            name=f"F_{i}",
        )(x)
    output_activation = "sigmoid" if task == "classification" else None
    output = keras.layers.Dense(
        1, activation=output_activation, kernel_regularizer=F_regularizer, name="output"
    )(x)
    return keras.Model(
        inputs=[z, yphi], outputs=output, name=f"moment_efn_k{order}_L{latent_dim}"
    )


def phi_network(model: keras.Model) -> keras.Model:
    """Return a model that maps points (n, 2) in (y, phi) to Phi values (n, L).

    The returned model shares its layers, and so its weights, with ``model``.
    """
    Phi_layers = []
    while True:
        name = f"Phi_{len(Phi_layers)}"
        try:
            Phi_layers.append(model.get_layer(name))
        except ValueError:
            break
    if not Phi_layers:
        raise ValueError(
            f"Model {model.name!r} has no layer named 'Phi_0'. "
            "Pass a model built by build_moment_efn."
        )
    points = keras.Input(shape=(N_ANGULAR_INPUTS,), name="yphi")
    x = points
    for layer in Phi_layers:
        x = layer(x)
    return keras.Model(inputs=points, outputs=x, name=f"{model.name}_Phi")


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
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Integral)
            or value < 1
        ):
            raise ValueError(
                f"Invalid value for `{name}`: expected a positive integer. "
                f"Received: {name}={value!r}"
            )
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
