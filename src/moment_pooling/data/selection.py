"""Jet definition and selection shared by generation, download and validation.

These match the published EnergyFlow quark/gluon sample (arXiv:1810.05165):
anti-kT jets with R = 0.4, pT in [500, 550] GeV and |y| < 1.7, neutrinos
excluded, quark jets from u, d and s quarks only.
"""

JET_R = 0.4
JET_PT_MIN = 500.0  # GeV
JET_PT_MAX = 550.0  # GeV
JET_ABS_Y_MAX = 1.7

NEUTRINO_PIDS = (12, 14, 16)
QUARK_FLAVOURS = (1, 2, 3)  # |PDG id| of d, u, s

# Class labels, as in energyflow.qg_jets.
LABELS = {"quark": 1, "gluon": 0}
