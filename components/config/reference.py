"""The configuration reference table, generated from the typed model so the README cannot drift.

    python -m faasplane.components.config.reference            # print the table
    python -m faasplane.components.config.reference --write README.md   # replace it between the markers
"""

from __future__ import annotations

import argparse
import json
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from faasplane.components import names
from faasplane.components.config import PlatformConfig, Resources

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{value}`" for value in typing.get_args(annotation))
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        validator = getattr(meta[0], "func", None) if meta else None
        kind = getattr(validator, "__name__", "").removeprefix("_check_")
        return {"duration": "duration", "quantity": "quantity", "dns_label": "DNS label"}.get(kind, _type_name(base))
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " \\| ".join(_type_name(a) for a in args) + " (optional)"
    if origin is dict:
        return "map"
    if origin is list:
        return f"list of {_type_name(typing.get_args(annotation)[0])}"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _validated_kind(field: FieldInfo) -> str | None:
    """`duration`, `quantity` or `DNS label` for fields typed with one of the config's value types."""
    for meta in field.metadata:
        kind = getattr(getattr(meta, "func", None), "__name__", "").removeprefix("_check_")
        if kind:
            return {"duration": "duration", "quantity": "quantity", "dns_label": "DNS label"}.get(kind)
    return None


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, Resources):
        requests, limits = value.requests, value.limits
        return f"requests `{requests.cpu}`/`{requests.memory}`, limits `{limits.cpu}`/`{limits.memory}`"
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True)
    if value is None:
        return ""
    return f"`{json.dumps(value)}`" if not isinstance(value, str) else f"`{value}`"


def rows(
    model: type[BaseModel] = PlatformConfig, prefix: str = f"{names.PROJECT}:"
) -> Iterator[tuple[str, str, str, str]]:
    """(key, type, default, description) for every setting, nested sections flattened with dots."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation is not Resources:
            yield from rows(annotation, key + ".")
            continue
        if annotation is Resources:
            type_name = "resources"
        else:
            type_name = _validated_kind(field) or _type_name(annotation)
        description = (field.description or "").replace("\n", " ").replace("|", "\\|")
        yield key, type_name, _default(field), description


def markdown_table() -> str:
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| `{key}` | {kind} | {default} | {description} |" for key, kind, default, description in rows()]
    return "\n".join(lines)


def replace_in(text: str) -> str:
    """`text` with the table between the markers replaced by the current one."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"the markers {START} and {END} are missing")
    return f"{head}{START}\n{markdown_table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faasplane.components.config.reference")
    parser.add_argument("--write", type=Path, help="replace the table in this Markdown file")
    args = parser.parse_args(argv)
    if args.write:
        args.write.write_text(replace_in(args.write.read_text()))
    else:
        print(markdown_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
