"""The moment pooling layer of a Moment-EFN.

Feature order. For latent dimension L and order k, the layer returns the
C(L + k, k) - 1 distinct moments of orders 1..k. They are sorted by order, and
within one order lexicographically by the sorted index tuple (a1 <= a2 <= ...).
For L = 2, k = 2 the features are <Phi^0>, <Phi^1>, <Phi^0 Phi^0>,
<Phi^0 Phi^1>, <Phi^1 Phi^1>. ``moment_multisets`` returns these tuples.

Evaluation. Computing every degree-j product per particle would store
B x M x C(L + j - 1, j) values (B jets, M particles). Instead the layer splits
each sorted index tuple of order j into a head, its first d = ceil(j/2)
indices, and a tail, the remaining e = floor(j/2), and uses

    <Phi^a1 ... Phi^aj> = sum_i (z_i tail_i) head_i,

where heads and tails are per-particle monomials of degree at most ceil(k/2)
(for k <= 4: Phi itself and its L (L + 1) / 2 pairwise products). Per order, one
batched matmul (B, n_e, M) x (B, M, n_d) -> (B, n_e, n_d) contracts every
tail with every head over particles, and a gather keeps the entries that form
the distinct moments. The gather indices are computed in numpy when the layer
is built. ``benchmarks/bench_moment_pooling.py`` compares this with the
per-particle product formulation.

TODO: the matmul also computes tail-head pairs that form no sorted tuple (for
j = 3, tail c with head (a, b) where c < b), about half of the entries at
large L. Splitting the tails into a few blocks, each contracted only with the
heads whose largest index is at most the block's largest index (a prefix of
the colexicographic head order), would skip most of them.
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


def _colex_monomials(latent_dim: int, max_degree: int):
    """Return the monomials of degree 1..max_degree in colexicographic order.

    ``monomials[d]`` lists sorted index tuples ordered by their last (largest)
    index first. So the degree d - 1 monomials whose largest index is at most
    c are the first C(c + d - 1, d - 1) entries, and the degree-d monomials
    ending in c are those entries times Phi^c. ``prefix_counts[d][c]`` is that
    count, which lets ``call`` build degree d with one slice and one multiply
    per c instead of a gather (gathers are several times slower, forward and
    backward, on TensorFlow's CPU kernels).
    """
    monomials = {1: [(a,) for a in range(latent_dim)]}
    prefix_counts = {}
    for degree in range(2, max_degree + 1):
        block, counts = [], []
        for c in range(latent_dim):
            count = math.comb(c + degree - 1, degree - 1)
            block.extend(m + (c,) for m in monomials[degree - 1][:count])
            counts.append(count)
        monomials[degree] = block
        prefix_counts[degree] = counts
    return monomials, prefix_counts


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

        # Order j contracts heads of degree d = ceil(j/2) with tails of degree
        # e = floor(j/2) <= d. Tails carry the weight z, because they are the
        # smaller factor, and the degree-0 tail is z itself.
        self._monomials, self._prefix_counts = _colex_monomials(L, (k + 1) // 2)
        self._order_blocks = [((j + 1) // 2, j // 2) for j in range(1, k + 1)]

        position = {
            m: i for block in self._monomials.values() for i, m in enumerate(block)
        }
        position[()] = 0
        gather = []
        offset = 0
        for j, (head_degree, _) in enumerate(self._order_blocks, start=1):
            n_heads = len(self._monomials[head_degree])
            for multiset in itertools.combinations_with_replacement(range(L), j):
                head, tail = multiset[:head_degree], multiset[head_degree:]
                gather.append(offset + position[tail] * n_heads + position[head])
            n_tails = len(self._monomials[j // 2]) if j > 1 else 1
            offset += n_tails * n_heads
        self._gather_indices = np.asarray(gather, dtype="int32")

    def call(self, inputs):
        z, Phi = inputs
        z = ops.cast(z, self.compute_dtype)
        Phi = ops.cast(Phi, self.compute_dtype)

        # Per-particle monomials of each degree up to ceil(k/2), shape (B, M, n_d).
        monomials = {1: Phi}
        for degree, counts in self._prefix_counts.items():
            previous = monomials[degree - 1]
            factors = [
                previous[..., :count] * Phi[..., c : c + 1]
                for c, count in enumerate(counts)
            ]
            monomials[degree] = ops.concatenate(factors, axis=-1)

        z = ops.expand_dims(z, -1)
        weighted_tails = {0: z}
        blocks = []
        for head_degree, tail_degree in self._order_blocks:
            if tail_degree not in weighted_tails:
                weighted_tails[tail_degree] = z * monomials[tail_degree]
            # (B, n_e, M) x (B, M, n_d) -> (B, n_e, n_d). Only the smaller tail
            # factor is transposed, which is cheaper than ops.einsum on TF.
            tails = ops.transpose(weighted_tails[tail_degree], (0, 2, 1))
            block = ops.matmul(tails, monomials[head_degree])
            blocks.append(ops.reshape(block, (ops.shape(block)[0], -1)))
        products = ops.concatenate(blocks, axis=-1) if len(blocks) > 1 else blocks[0]
        return ops.take(products, self._gather_indices, axis=1)

    def compute_output_shape(self, input_shape):
        z_shape, Phi_shape = input_shape
        L = self._validate_shapes(z_shape, Phi_shape)
        return (z_shape[0], math.comb(L + self.order, self.order) - 1)

    def get_config(self):
        base_config = super().get_config()
        config = {"order": self.order}
        return {**base_config, **config}
