"""Moment Pooling: Moment-EFNs for quark and gluon jets.

A Moment-EFN of order k maps a jet, a set of particles with energy fractions
z_i and centred angular coordinates p_i = (y_i, phi_i), to

    O_k = F(<Phi^a>, <Phi^a1 Phi^a2>, ..., <Phi^a1 ... Phi^ak>),
    <Phi^a1 ... Phi^aj> = sum_i z_i Phi^a1(p_i) ... Phi^aj(p_i),

(R. Gambhir, A. Osathapan, J. Thaler, arXiv:2403.08854). k = 1 is the
Energy Flow Network of arXiv:1810.05165.

Glossary, used in names throughout the package:

- ``z``: energy fractions pT_i / sum_j pT_j, shape (jets, particles).
- ``yphi``: rapidity and azimuth of each particle relative to the pT-weighted
  jet centre, in radians, shape (jets, particles, 2).
- ``Phi``: the per-particle network; ``Phi_sizes`` are its hidden widths.
- ``F``: the network on the pooled moments; ``F_sizes`` are its widths.
- ``latent_dim`` (L): number of Phi outputs.
- ``order`` (k): highest moment order fed to F.
- ``L_eff``: C(L + k, k), the number of distinct moments of orders 0..k.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("moment-pooling")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
