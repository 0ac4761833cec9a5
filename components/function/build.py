"""Image builds with `pulumi_docker_build`: tag by content hash, reference by digest.

A tag derived from the build context means an unchanged context produces the same tag (no rebuild,
no rollout); the digest reference means a changed one rolls the Deployment that uses it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    import pulumi_docker_build as docker_build

IGNORED_PARTS = frozenset({".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".ruff_cache", "build"})


def context_files(root: Path, include: Iterable[str] | None = None) -> list[Path]:
    """Files of a build context (optionally only the given top-level entries), in a stable order."""
    roots = [root / entry for entry in include] if include else [root]
    files: list[Path] = []
    for base in roots:
        if base.is_file():
            files.append(base)
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_PARTS)
            files.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith(".pyc"))
    return sorted(files)


def content_hash(root: Path, include: Iterable[str] | None = None, extra: Mapping[str, str] | None = None) -> str:
    """A short hash of file names, contents and build arguments: the image tag."""
    digest = hashlib.sha256()
    for path in context_files(root, include):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    for key, value in sorted((extra or {}).items()):
        digest.update(f"{key}={value}\0".encode())
    return digest.hexdigest()[:16]


def build_image(
    resource_name: str,
    *,
    context: Path,
    repository: str,
    server: pulumi.Input[str],
    push: bool,
    username: str | None = None,
    password: pulumi.Input[str] | None = None,
    dockerfile: Path | None = None,
    build_args: Mapping[str, str] | None = None,
    include: Iterable[str] | None = None,
    parent: pulumi.Resource | None = None,
) -> tuple[docker_build.Image, pulumi.Output[str]]:
    """Build `server/repository:<content hash>` and push it; return the image and its digest reference.

    `server` may be an output (a registry exported by another stack).
    """
    import pulumi_docker_build as docker_build  # only stacks that build images need the provider

    tag = content_hash(context, include, build_args)
    image_name = pulumi.Output.concat(server, "/", repository)
    # Docker looks credentials up by registry host: `registry.example.com/team` logs in to the host.
    host = pulumi.Output.from_input(server).apply(lambda value: value.split("/", 1)[0])
    registries = [{"address": host, "username": username, "password": password}] if username else None
    image = docker_build.Image(
        resource_name,
        context={"location": str(context)},
        dockerfile={"location": str(dockerfile)} if dockerfile else None,
        build_args=dict(build_args or {}),
        tags=[pulumi.Output.concat(image_name, ":", tag)],
        push=push,
        registries=registries,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    reference = pulumi.Output.all(image_name, image.digest).apply(
        lambda parts: f"{parts[0]}@{parts[1]}" if parts[1] else f"{parts[0]}:{tag}"
    )
    return image, reference
