"""The functions `__main__.py` deploys onto the platform, and the example handlers they are built from.

Add a function with `make function NAME=... LANG=...` (`python -m faasplane.components.function.scaffold`),
then declare it here.
"""

from __future__ import annotations

from pathlib import Path

from faasplane.components.function import Function, FunctionArgs, PlatformComponent, PlatformRef, Scale, Timeouts

FUNCTIONS_DIR = Path(__file__).resolve().parent


def declare_functions(platform: PlatformComponent | PlatformRef) -> list[Function]:
    """The example functions: `sum` (Go) and `hello` (Python)."""
    return [
        Function(
            "sum",
            FunctionArgs(
                handler=FUNCTIONS_DIR / "sum",
                lang="golang-middleware",
                scale=Scale(min=1, max=5, factor=20),
                timeouts=Timeouts(read="10s", write="10s", exec="10s"),
            ),
            platform,
        ),
        Function(
            "hello",
            FunctionArgs(
                handler=FUNCTIONS_DIR / "hello",
                lang="python3-http",
                scale=Scale(min=1, max=5),
            ),
            platform,
        ),
    ]
