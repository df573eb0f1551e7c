"""Argument checks shared by the modules of the package, without Keras."""

from __future__ import annotations

import numbers

__all__ = ["check_positive_int", "is_positive_int"]


def is_positive_int(value: object) -> bool:
    """Return whether ``value`` is an integer of at least 1, excluding booleans."""
    return (
        not isinstance(value, bool)
        and isinstance(value, numbers.Integral)
        and value >= 1
    )


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name``."""
    if not is_positive_int(value):
        raise ValueError(
            f"Invalid value for `{name}`: expected a positive integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)
