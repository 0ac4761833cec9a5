"""The errors of a function declaration: each `Problem` names a field and what is wrong with it; a
`FunctionError` collects them for one function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faasplane.components.errors import UserError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a declaration: the field (dotted, as in `FunctionArgs`) and the message."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class FunctionError(UserError):
    """A function declaration is invalid; one line per problem, each naming the function and the field."""

    def __init__(self, function: str, problems: Sequence[Problem]):
        self.function = function
        self.problems = list(problems)
        super().__init__("\n".join(f"function {function!r}: {problem}" for problem in self.problems))


def show(value: Any, *, none: str = "None") -> str:
    """A value as error messages quote it: strings and paths in quotes, `None` as `none` (stack.yml messages
    pass `null`, the YAML spelling), anything else as `str` gives it."""
    if value is None:
        return none
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Path):
        return repr(str(value))
    return str(value)


def invalid(field_name: str, value: Any, expected: str) -> Problem:
    """The problem `<value> is not valid: expected <expected>` of a field."""
    return Problem(field_name, f"{show(value)} is not valid: expected {expected}")
