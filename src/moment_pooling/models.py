"""Moment-EFN builders.

``count_moment_efn_params`` and ``sample_architectures`` live in the Keras-free
``moment_pooling.architectures`` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from moment_pooling.architectures import (
    N_ANGULAR_INPUTS,
    SCAN_DEPTH,
    _check_architecture,
    count_moment_efn_params,
    sample_architectures,
)
from moment_pooling.layers import MomentPooling

__all__ = [
    "SCAN_DEPTH",
    "build_moment_efn",
    "count_moment_efn_params",
    "phi_network",
    "sample_architectures",
]

TASKS = ("classification", "regression")


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
