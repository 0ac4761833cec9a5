"""The language templates a function's image is built from: `components/function/templates/<name>/` with its
`template.yml` (fprocess, what the handler must define, whether the context is rendered), and the
rendering of a build context (`.j2` files through jinja2, the handler overlaid into `function/`)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from faasplane.components import k8s
from faasplane.components.function import build
from faasplane.components.function.errors import Problem
from faasplane.components.images import TEMPLATE_IMAGES

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
BUILD_DIR: Path | None = None
"""Where build contexts are rendered, one stable directory per function (so an unchanged handler gives the
same content hash: same tag, same digest, no rollout). None: `build/functions` beside the Pulumi project's
Pulumi.yaml, whichever project uses the toolkit."""


def build_dir() -> Path:
    """`BUILD_DIR`, or `build/functions` under the running Pulumi project's root (the working directory when
    there is no Pulumi project, as under the mocks)."""
    if BUILD_DIR is not None:
        return BUILD_DIR
    import pulumi

    root = pulumi.get_root_directory() if hasattr(pulumi, "get_root_directory") else None
    # The engine passes an absolute path; outside it the SDK answers with the placeholder "root_directory".
    if not root or not Path(root).is_absolute():
        root = Path.cwd()
    return Path(root).resolve() / "build" / "functions"


@dataclass(frozen=True)
class HandlerRequirement:
    file: str
    pattern: str | None
    expect: str


@dataclass(frozen=True)
class Template:
    """A language template: `components/function/templates/<name>/` with its `template.yml`."""

    name: str
    directory: Path
    fprocess: str | None
    requires: tuple[HandlerRequirement, ...]
    render_context: bool
    """False for `dockerfile`: the handler directory is the build context as is."""

    @property
    def skeleton(self) -> Path:
        return self.directory / "skeleton"

    def handler_problems(self, handler: Path) -> list[Problem]:
        out: list[Problem] = []
        for requirement in self.requires:
            path = handler / requirement.file
            if not path.is_file():
                out.append(
                    Problem("handler", f"{str(handler)!r} has no {requirement.file}: the {self.name} template "
                                       f"needs {requirement.expect}")
                )
                continue
            if requirement.pattern and not re.search(requirement.pattern, path.read_text(errors="replace"), re.M):
                out.append(
                    Problem("handler", f"{str(path)!r} does not define what the {self.name} template calls: "
                                       f"expected {requirement.expect}")
                )
        return out

    def files(self) -> list[Path]:
        """The template's own build files (not its metadata or handler skeleton)."""
        skip = {self.directory / "template.yml", self.skeleton}
        return [
            path for path in build.context_files(self.directory)
            if path not in skip and self.skeleton not in path.parents
        ]


@functools.cache
def available_templates() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in TEMPLATES_DIR.iterdir() if (p / "template.yml").is_file()))


@functools.cache
def template(name: str) -> Template:
    directory = TEMPLATES_DIR / name
    data = yaml.safe_load((directory / "template.yml").read_text()) or {}
    return Template(
        name=name,
        directory=directory,
        fprocess=data.get("fprocess"),
        requires=tuple(
            HandlerRequirement(item["file"], item.get("pattern"), item["expect"]) for item in data.get("requires", [])
        ),
        render_context=bool(data.get("render_context", True)),
    )


def template_parameters(function: str) -> dict[str, Any]:
    """What the `.j2` files of the templates and skeletons may use."""
    go = re.search(r":(\d+\.\d+)", TEMPLATE_IMAGES["golang"])
    return {
        "function": function,
        "images": dict(TEMPLATE_IMAGES),
        "uid": k8s.NON_ROOT_UID,
        "go_version": go.group(1) if go else "1.23",
    }


def render_template_file(path: Path, function: str) -> str:
    return _jinja().from_string(path.read_text()).render(**template_parameters(function))


def _jinja() -> jinja2.Environment:
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)  # noqa: S701


def render_build_context(name: str, tmpl: Template, handler: Path, destination: Path) -> Path:
    """Render the template (files ending `.j2` through jinja2) and overlay the handler into `function/`.

    Files are written only when their content changes and stale files are removed, so the directory is
    the same, byte for byte, for the same template and handler."""
    wanted: dict[Path, bytes] = {}
    for path in tmpl.files():
        relative = path.relative_to(tmpl.directory)
        if path.suffix == ".j2":
            wanted[relative.with_suffix("")] = render_template_file(path, name).encode()
        else:
            wanted[relative] = path.read_bytes()
    for path in build.context_files(handler):
        wanted[Path("function") / path.relative_to(handler)] = path.read_bytes()
    destination.mkdir(parents=True, exist_ok=True)
    for relative, content in wanted.items():
        target = destination / relative
        if not target.is_file() or target.read_bytes() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    for existing in sorted(destination.rglob("*"), reverse=True):
        relative = existing.relative_to(destination)
        if existing.is_file() and relative not in wanted:
            existing.unlink()
        elif existing.is_dir() and not any(existing.iterdir()):
            existing.rmdir()
    return destination

