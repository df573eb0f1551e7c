"""The moment pooling layer of a Moment-EFN.

Feature order. For latent dimension L and order k, the layer returns the
C(L + k, k) - 1 distinct moments of orders 1..k. They are sorted by order, and
within one order lexicographically by the sorted index tuple (a1 <= a2 <= ...).
For L = 2, k = 2 the features are <Phi^0>, <Phi^1>, <Phi^0 Phi^0>,
<Phi^0 Phi^1>, <Phi^1 Phi^1>. ``moment_multisets`` returns these tuples.

Evaluation. Computing every degree-j product per particle would store
B x M x C(L + j - 1, j) values (B jets, M particles). Instead the layer splits
each sorted index tuple of order j >= 2 into a tail, its first e = floor(j/2)
indices, and a head, the remaining d = ceil(j/2), and uses

    <Phi^a1 ... Phi^aj> = sum_i (z_i tail_i) head_i,

where heads and tails are per-particle monomials (degree 1 or 2 for
k <= 4). A tail t and a head h form a sorted tuple when
last(t) <= first(h). The latent indices are cut into groups of about
``_GROUP_WIDTH`` consecutive indices (one group for k <= 2). For each group,
one batched matmul (B, n_t, M) x (B, M, n_h) -> (B, n_t, n_h) contracts the
heads whose first index lies in the group with the tails whose last index is
below the group's end, so most tail-head pairs that form no sorted tuple are
never computed. Heads and tails of degree 2 or more are built per group as
full products (one broadcast multiply per factor), which include some
unsorted tuples. The fraction of unsorted tuples grows with the degree, so
orders above 4 work but are not tuned. Each matmul output is flattened and
cut by one split into runs of consecutive entries, and one concatenate puts
the runs of all groups in feature order. The cut points are computed in
Python when the layer is built.

All per-particle tensors are particle-last, (B, n, M), so that the groups are
splits along axis 1. The layer avoids ``ops.take`` and strided slices in the
hot path, because on TensorFlow's CPU kernels their gradients (a scatter, and
one zero-padded copy of the whole input per slice) cost several times the
forward pass. ``ops.split``, whose gradient is one concatenate, replaces them.
``benchmarks/bench_moment_pooling.py`` compares this with the per-particle
product formulation.
"""

from __future__ import annotations

import itertools
import math

import keras
from keras import ops

from moment_pooling.checks import check_positive_int

__all__ = ["MomentPooling", "moment_multisets"]


def moment_multisets(latent_dim: int, order: int) -> list[tuple[int, ...]]:
    """Return the index tuple of each output feature of ``MomentPooling(order)``.

    Tuples are sorted (a1 <= a2 <= ...), grouped by length 1..``order`` and
    ordered lexicographically within one length. There are
    C(latent_dim + order, order) - 1 of them.
    """
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    order = check_positive_int(order, "order")
    multisets: list[tuple[int, ...]] = []
    for degree in range(1, order + 1):
        multisets.extend(
            itertools.combinations_with_replacement(range(latent_dim), degree)
        )
    return multisets


# Latent indices per group of the blocked contraction. On a 2-core x86_64 CPU
# (docs/benchmarks.md), width 4 was as fast as 8 at (k, L) = (3, 32) and
# faster at (4, 16), and widths 2 and 16 were slower. Narrower groups skip
# more unused tail-head pairs but give matmuls too small to run efficiently.
_GROUP_WIDTH = 4


def _group_edges(latent_dim: int, order: int) -> list[int]:
    """Return the boundaries of the latent index groups, from 0 to latent_dim.

    Up to order 2 all heads have degree 1 and one L x L matmul is cheaper than
    several small ones, so there is a single group.
    """
    n_groups = 1 if order <= 2 else math.ceil(latent_dim / _GROUP_WIDTH)
    return [round(i * latent_dim / n_groups) for i in range(n_groups + 1)]


def _head_layout(degree: int, start: int, stop: int, latent_dim: int):
    """Return the index tuples of the heads of one group, as ``call`` lays them out.

    Heads are (c, r1, ..., r_{d-1}) with c in [start, stop) and every r in
    [start, L), in row-major order. This includes unsorted tuples, which the
    contraction plan skips.
    """
    rests = itertools.product(range(start, latent_dim), repeat=degree - 1)
    return [(c, *rest) for c, rest in itertools.product(range(start, stop), rests)]


def _tail_layout(degree: int, edges: list[int], stop: int):
    """Return the index tuples of the tails with last index below ``stop``.

    Per group [g0, g1) below ``stop``, tails are (r1, ..., r_{e-1}, b) with
    b in [g0, g1) and every r in [0, g1), ordered by b, then row-major in r.
    This includes unsorted tuples, which the contraction plan skips.
    """
    layout = []
    for g0, g1 in zip(edges[:-1], edges[1:], strict=True):
        if g0 >= stop:
            break
        rests = list(itertools.product(range(g1), repeat=degree - 1))
        layout.extend((*rest, b) for b in range(g0, g1) for rest in rests)
    return layout


def _contraction_plan(latent_dim: int, order: int, edges: list[int]):
    """Plan how the group matmuls of one order yield its moments in feature order.

    Returns ``(cuts, pieces)``. ``cuts[j]`` are the split points of group j's
    flattened (tails x heads) matmul output, and ``pieces`` lists
    ``(group, piece index)`` for the split pieces whose concatenation is the
    order's moments in lexicographic order.
    """
    head_degree, tail_degree = (order + 1) // 2, order // 2
    groups = list(zip(edges[:-1], edges[1:], strict=True))
    position = {}
    sizes = []
    for j, (start, stop) in enumerate(groups):
        heads = _head_layout(head_degree, start, stop, latent_dim)
        tails = _tail_layout(tail_degree, edges, stop)
        sizes.append(len(tails) * len(heads))
        for t_index, tail in enumerate(tails):
            if list(tail) != sorted(tail):
                continue
            for h_index, head in enumerate(heads):
                if list(head) == sorted(head) and tail[-1] <= head[0]:
                    position[tail + head] = (j, t_index * len(heads) + h_index)

    # Runs of consecutive features that are consecutive entries of one group.
    runs: list[list[int]] = []
    for multiset in itertools.combinations_with_replacement(range(latent_dim), order):
        j, flat = position[multiset]
        if runs and runs[-1][0] == j and runs[-1][1] + runs[-1][2] == flat:
            runs[-1][2] += 1
        else:
            runs.append([j, flat, 1])

    cuts = []
    for j, size in enumerate(sizes):
        points = {0, size}
        for group, flat, length in runs:
            if group == j:
                points.update((flat, flat + length))
        cuts.append(sorted(points))
    pieces = [(j, cuts[j].index(flat)) for j, flat, _ in runs]
    return cuts, pieces


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
        self.order = check_positive_int(order, "order")
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

        self._group_edges = _group_edges(L, k)
        self._contractions = [
            (order, *_contraction_plan(L, order, self._group_edges))
            for order in range(2, k + 1)
        ]

    def call(self, inputs):
        z, Phi = inputs
        z = ops.cast(z, self.compute_dtype)
        Phi = ops.cast(Phi, self.compute_dtype)
        if self.order == 1:
            # (B, 1, M) x (B, M, L) -> (B, 1, L).
            return ops.squeeze(ops.matmul(ops.expand_dims(z, 1), Phi), axis=1)

        # Particle-last layout: (B, L, M), so that groups are splits on axis 1.
        Phi = ops.transpose(Phi, (0, 2, 1))
        weighted = ops.expand_dims(z, 1) * Phi
        batch_size, n_particles = ops.shape(Phi)[0], ops.shape(Phi)[2]
        edges = self._group_edges
        n_groups = len(edges) - 1
        if n_groups > 1:
            Phi_groups = ops.split(Phi, edges[1:-1], axis=1)
            weighted_groups = ops.split(weighted, edges[1:-1], axis=1)
        else:
            Phi_groups, weighted_groups = [Phi], [weighted]

        def concatenate(tensors):
            return ops.concatenate(tensors, axis=1) if len(tensors) > 1 else tensors[0]

        def outer_products(factors):
            # Factors (B, n_i, M) -> (B, prod n_i, M), row-major in the factors.
            # The static size is kept for ops.split.
            result = factors[0]
            for factor in factors[1:]:
                product = ops.expand_dims(result, 2) * ops.expand_dims(factor, 1)
                size = result.shape[1] * factor.shape[1]
                result = ops.reshape(product, (batch_size, size, n_particles))
            return result

        # Group j: heads have their first index in the group, tails their last
        # index below the group's end. See _head_layout and _tail_layout.
        suffixes = [concatenate(Phi_groups[j:]) for j in range(n_groups)]
        prefixes = [concatenate(weighted_groups[: j + 1]) for j in range(n_groups)]
        heads = {
            degree: [
                outer_products([Phi_groups[j]] + [suffixes[j]] * (degree - 1))
                for j in range(n_groups)
            ]
            for degree in range(1, (self.order + 1) // 2 + 1)
        }
        tails = {1: prefixes}
        for degree in range(2, self.order // 2 + 1):
            # Block i has the factors b (in group i), r1 (weighted by z) and,
            # from degree 3 on, further r below the group's end.
            blocks = []
            for i in range(n_groups):
                factors = [Phi_groups[i], prefixes[i]]
                if degree > 2:
                    factors += [concatenate(Phi_groups[: i + 1])] * (degree - 2)
                blocks.append(outer_products(factors))
            tails[degree] = [concatenate(blocks[: j + 1]) for j in range(n_groups)]

        features = [ops.sum(weighted, axis=-1)]
        for order, cuts, pieces in self._contractions:
            head_degree, tail_degree = (order + 1) // 2, order // 2
            split_outputs = []
            for j in range(n_groups):
                # (B, n_t, M) x (B, n_h, M) -> (B, n_t, n_h), flattened.
                products = ops.einsum(
                    "btm,bhm->bth", tails[tail_degree][j], heads[head_degree][j]
                )
                products = ops.reshape(products, (-1, cuts[j][-1]))
                if len(cuts[j]) > 2:
                    split_outputs.append(ops.split(products, cuts[j][1:-1], axis=1))
                else:
                    split_outputs.append([products])
            features.extend(split_outputs[j][i] for j, i in pieces)
        return ops.concatenate(features, axis=1)

    def compute_output_shape(self, input_shape):
        z_shape, Phi_shape = input_shape
        L = self._validate_shapes(z_shape, Phi_shape)
        return (z_shape[0], math.comb(L + self.order, self.order) - 1)

    def get_config(self):
        base_config = super().get_config()
        config = {"order": self.order}
        return {**base_config, **config}
