"""Kubernetes resource quantities (`100m`, `0.5`, `128Mi`, `1Gi`): one grammar for the stack config and
the function arguments."""

from __future__ import annotations

import re
from typing import Any

QUANTITY = re.compile(r"^(\d+(?:\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
"""A plain decimal number with an optional decimal (`m`, `k`, `M`, ...) or binary (`Ki`, `Mi`, ...) suffix."""
_SUFFIX_SCALE = {
    None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}


def is_quantity(text: str) -> bool:
    """Whether `text` is written as a quantity."""
    return QUANTITY.match(text) is not None


def quantity_value(value: Any) -> float:
    """The number a Kubernetes quantity stands for (`100m` is 0.1, `1Ki` is 1024); ValueError if none."""
    usable = isinstance(value, str | int | float) and not isinstance(value, bool)
    match = QUANTITY.match(str(value)) if usable else None
    if not match:
        raise ValueError(f"{value!r} is not a quantity")
    return float(match.group(1)) * _SUFFIX_SCALE[match.group(2)]
