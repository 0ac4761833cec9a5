#!/usr/bin/env python3
"""Pin the platform's images by digest for a stack (run where the registries are reachable).

    uv run --frozen python scripts/pin-images.py --stack prod            # print the `pulumi config set` commands
    uv run --frozen python scripts/pin-images.py --stack prod --apply    # and run them

Resolves every image of the stack that has no digest yet (`docker buildx imagetools inspect`, or `crane
digest` where docker is absent) and sets `faasplane:images.<key>` to `<tag>@sha256:<digest>`, so the stack
runs exactly the bytes that were reviewed. The `pinned-images` policy requires this in prod.

It imports the `faasplane` package, so it runs in the project's environment (`uv run`); any other Python
gets one line saying so instead of a traceback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

USAGE = "uv run --frozen python scripts/pin-images.py --stack STACK [--apply]"

try:
    from faasplane.components.images import resolve_images
    from faasplane.components.render import read_stack_config
except ModuleNotFoundError as exc:
    # The repository root on sys.path would not help: the folders are the `faasplane` package only once installed.
    raise SystemExit(f"scripts/pin-images.py: cannot import {exc.name} (this Python is not the project's "
                     f"environment): run it with {USAGE}") from None


def resolve_digest(reference: str) -> str:
    """The manifest (index) digest a tag points at now."""
    if shutil.which("docker"):
        result = subprocess.run(
            ["docker", "buildx", "imagetools", "inspect", reference, "--format", "{{json .Manifest}}"],
            capture_output=True, text=True, check=False,
        )
        if result.returncode == 0:
            return json.loads(result.stdout)["digest"]
    if shutil.which("crane"):
        result = subprocess.run(["crane", "digest", reference], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return result.stdout.strip()
    raise SystemExit(f"cannot resolve {reference}: needs docker buildx or crane, and access to its registry")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--apply", action="store_true", help="run the commands (needs the Pulumi CLI)")
    args = parser.parse_args(argv)
    config, _ = read_stack_config(args.stack)
    overrides = config.get("faasplane:images") or {}
    images = resolve_images(str(config.get("faasplane:edition", "ce")), overrides)
    commands = []
    for key, reference in sorted(images.items()):
        if "@sha256:" in reference:
            continue
        pinned = f"{reference}@{resolve_digest(reference)}"
        commands.append(["pulumi", "config", "set", "--stack", args.stack, "--path", f"faasplane:images.{key}", pinned])
    for command in commands:
        print(" ".join(command))
        if args.apply:
            subprocess.run(command, check=True)
    if not commands:
        print(f"every image of stack {args.stack} is already pinned by digest")
    return 0


if __name__ == "__main__":
    sys.exit(main())
