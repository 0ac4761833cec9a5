"""How numbers are written into generated text (labels, PromQL rules): one definition for every component."""

from __future__ import annotations


def format_number(value: float) -> str:
    """A number as Kubernetes labels and PromQL take it: whole values without `.0` (`2`, `0.5`, `1e-07`)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))
