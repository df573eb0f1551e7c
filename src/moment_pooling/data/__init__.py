"""Quark and gluon jets: generation, download, HDF5 stores and preprocessing.

Two sources give the same jet store layout (see ``moment_pooling.data.store``):
``generate`` runs Pythia 8 and FastJet here, and ``download`` fetches the
published EnergyFlow sample. ``preprocess`` turns a jet store into energy
fractions ``z`` and centred ``yphi``, and ``load_splits`` reads the
train/val/test splits from the result.
"""

from moment_pooling.data.store import Split, StoreError, load_splits

__all__ = ["Split", "StoreError", "load_splits"]
