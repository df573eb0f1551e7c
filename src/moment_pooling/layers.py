"""The moment pooling layer of a Moment-EFN.

Feature order. For latent dimension L and order k, the layer returns the
C(L + k, k) - 1 distinct moments of orders 1..k. They are sorted by order, and
within one order lexicographically by the sorted index tuple (a1 <= a2 <= ...).
For L = 2, k = 2 the features are <Phi^0>, <Phi^1>, <Phi^0 Phi^0>,
<Phi^0 Phi^1>, <Phi^1 Phi^1>. ``moment_multisets`` returns these tuples.

Evaluation. Computing every degree-j product per particle would store
B x M x C(L + j - 1, j) values (B jets, M particles). Instead the layer splits
each index tuple into a head of ceil(j/2) indices and a tail of floor(j/2)
indices, and uses

    <Phi^a1 ... Phi^aj> = sum_i (z_i head_i) tail_i,

where head and tail are per-particle monomials of degree at most ceil(k/2).
One batched matmul, (B, P, M) x (B, M, Q) -> (B, P, Q), contracts every head
with every tail over particles, and a gather keeps the entries that form the
distinct moments. All gather indices are computed in numpy when the layer is
built. ``benchmarks/bench_moment_pooling.py`` compares this with the
per-particle product formulation.
"""

from __future__ import annotations

import itertools
import math
import numbers

import keras
import numpy as np
from keras import ops

__all__ = ["MomentPooling", "moment_multisets"]


def _check_positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"Invalid value for `{name}`: expected a positive integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def moment_multisets(latent_dim: int, order: int) -> list[tuple[int, ...]]:
    """Return the index tuple of each output feature of ``MomentPooling(order)``.

    Tuples are sorted (a1 <= a2 <= ...), grouped by length 1..``order`` and
    ordered lexicographically within one length. There are
    C(latent_dim + order, order) - 1 of them.
    """
    latent_dim = _check_positive_int(latent_dim, "latent_dim")
    order = _check_positive_int(order, "order")
    multisets: list[tuple[int, ...]] = []
    for degree in range(1, order + 1):
        multisets.extend(
            itertools.combinations_with_replacement(range(latent_dim), degree)
        )
    return multisets


def _monomials(latent_dim: int, degrees: range) -> list[tuple[int, ...]]:
    """Return the sorted index tuples of all monomials with degree in ``degrees``."""
    monomials: list[tuple[int, ...]] = []
    for degree in degrees:
        monomials.extend(
            itertools.combinations_with_replacement(range(latent_dim), degree)
        )
    return monomials


def _monomial_recursion(
    monomials: list[tuple[int, ...]], latent_dim: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return, per degree >= 2, the gather indices that build it from degree - 1.

    A monomial (a1, ..., ad) is the monomial (a1, ..., a(d-1)) times Phi^ad.
    Positions refer to the running concatenation [Phi, degree 2, degree 3, ...].
    """
    position = {(a,): a for a in range(latent_dim)}
    steps = []
    degree = 2
    while True:
        block = [m for m in monomials if len(m) == degree]
        if not block:
            return steps
        offset = len(position)
        prefixes = np.array([position[m[:-1]] for m in block], dtype="int32")
        lasts = np.array([m[-1] for m in block], dtype="int32")
        for i, m in enumerate(block):
            position[m] = offset + i
        steps.append((prefixes, lasts))
        degree += 1


@keras.saving.register_keras_serializable(package="moment_pooling")
class MomentPooling(keras.layers.Layer):
    """Energy-weighted moments of a per-particle latent representation.

    Given energy fractions z_i and latent values Phi^a(p_i), a = 0..L-1, of the
    particles i of a jet, returns every distinct moment

        <Phi^a1 ... Phi^aj> = sum_i z_i Phi^a1_i ... Phi^aj_i,  j = 1..order,

    (R. Gambhir, A. Osathapan, J. Thaler, arXiv:2403.08854). Order 1 is the
    pooling of an Energy Flow Network. Every feature is linear in z, so padded
    particles with z = 0 contribute nothing whatever their Phi values.

    Features are ordered by moment order, then lexicographically by the sorted
    index tuple; ``moment_multisets(L, order)`` lists them.

    Args:
        order: highest moment order k, a positive integer.

    Call arguments:
        inputs: list ``[z, Phi]``.

    Input shape:
        z: (batch, particles). Phi: (batch, particles, L).

    Output shape:
        (batch, C(L + order, order) - 1).

    Example:
        >>> z = keras.ops.ones((2, 5)) / 5
        >>> Phi = keras.ops.ones((2, 5, 3))
        >>> MomentPooling(order=2)([z, Phi]).shape
        (2, 9)
    """

    def __init__(self, order: int, **kwargs):
        super().__init__(**kwargs)
        self.order = _check_positive_int(order, "order")
        self.latent_dim: int | None = None

    def _validate_shapes(self, z_shape, Phi_shape) -> int:
        if len(z_shape) != 2 or len(Phi_shape) != 3:
            raise ValueError(
                "MomentPooling expects z of shape (batch, particles) and Phi of "
                "shape (batch, particles, latent_dim). "
                f"Received: z.shape={tuple(z_shape)}, Phi.shape={tuple(Phi_shape)}"
            )
        latent_dim = Phi_shape[-1]
        if latent_dim is None:
            raise ValueError(
                "MomentPooling needs a known latent dimension (last axis of Phi). "
                f"Received: Phi.shape={tuple(Phi_shape)}"
            )
        if (
            z_shape[1] is not None
            and Phi_shape[1] is not None
            and z_shape[1] != Phi_shape[1]
        ):
            raise ValueError(
                "z and Phi must have the same number of particles. "
                f"Received: z.shape={tuple(z_shape)}, Phi.shape={tuple(Phi_shape)}"
            )
        return int(latent_dim)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(
                "MomentPooling must be called on a list [z, Phi]. "
                f"Received input shape: {input_shape}"
            )
        z_shape, Phi_shape = input_shape
        L = self._validate_shapes(z_shape, Phi_shape)
        self.latent_dim = L
        k = self.order

        # Heads have degree ceil(j/2) in 1..ceil(k/2) and tails degree floor(j/2)
        # in 0..floor(k/2). The layer builds the union of both sets per particle.
        max_degree = (k + 1) // 2
        self._heads = _monomials(L, range(1, max_degree + 1))
        self._tails = _monomials(L, range(0, k // 2 + 1))
        self._recursion = _monomial_recursion(self._heads, L)
        # Tails of degree >= 1 are the first entries of the head list.
        self._n_tails_nonconstant = len(self._tails) - 1

        head_position = {m: i for i, m in enumerate(self._heads)}
        tail_position = {m: i for i, m in enumerate(self._tails)}
        n_tails = len(self._tails)
        gather = []
        for multiset in moment_multisets(L, k):
            split = (len(multiset) + 1) // 2
            head, tail = multiset[:split], multiset[split:]
            gather.append(head_position[head] * n_tails + tail_position[tail])
        self._gather_indices = np.asarray(gather, dtype="int32")
        self._n_products = len(self._heads) * n_tails

    def call(self, inputs):
        z, Phi = inputs
        z = ops.cast(z, self.compute_dtype)
        Phi = ops.cast(Phi, self.compute_dtype)

        # Per-particle monomials [Phi, degree 2, ..., degree ceil(k/2)].
        monomials = Phi
        for prefixes, lasts in self._recursion:
            block = ops.take(monomials, prefixes, axis=-1) * ops.take(
                Phi, lasts, axis=-1
            )
            monomials = ops.concatenate([monomials, block], axis=-1)

        weighted_heads = monomials * ops.expand_dims(z, -1)
        tails = [ops.ones_like(ops.expand_dims(z, -1))]
        if self._n_tails_nonconstant:
            tails.append(monomials[..., : self._n_tails_nonconstant])
        tails = ops.concatenate(tails, axis=-1) if len(tails) > 1 else tails[0]

        # (B, P, M) x (B, M, Q) -> (B, P, Q): every head against every tail.
        products = ops.matmul(ops.transpose(weighted_heads, (0, 2, 1)), tails)
        products = ops.reshape(products, (-1, self._n_products))
        return ops.take(products, self._gather_indices, axis=1)

    def compute_output_shape(self, input_shape):
        z_shape, Phi_shape = input_shape
        L = self._validate_shapes(z_shape, Phi_shape)
        return (z_shape[0], math.comb(L + self.order, self.order) - 1)

    def get_config(self):
        base_config = super().get_config()
        config = {"order": self.order}
        return {**base_config, **config}
