"""Build the pinned tools from Go modules into the tools cache (`make tools`).

    python3 -m scripts.tools [TIER ...]      # build these tiers (default: every tier)
    python3 -m scripts.tools --list          # what is pinned, and whether it is built
    python3 -m scripts.tools --rebuild NAME  # build NAME again even if it is in the cache (only NAME, unless
                                             # tiers are given too)

Skips what is already built with the same pins, prints a table (tool, version, path, seconds) and exits 1
naming every module and version that could not be fetched or built (the other tools are still built). One
run at a time: a second waits for the first (a lock on the tools cache). Needs Python 3.11 or later.
"""

from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # noqa: UP036 (tomllib; checked before the imports that need it)
    sys.exit(f"error: python3 -m scripts.tools needs Python 3.11 or later, not {sys.version.split()[0]}")

import argparse  # noqa: E402
import time  # noqa: E402

from scripts.tools import bin_dir, home  # noqa: E402
from scripts.tools.build import BuildError, Built, build, built_dir, locked, log_path  # noqa: E402
from scripts.tools.pins import BUILD_TIERS, PinError, Tool, load  # noqa: E402


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def failure_line(tool: Tool, error: Exception) -> str:
    """One line naming what failed and where its log is (the tool is named by the caller)."""
    first = (str(error).strip().splitlines() or [""])[0]
    if not isinstance(error, BuildError):
        first = f"unexpected {type(error).__name__}: {first}"
    log = log_path(tool)
    if str(log) not in first and log.exists():
        first += f" (log {log})"
    return first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m scripts.tools", description=__doc__.split("\n\n")[0])
    parser.add_argument("tiers", nargs="*", metavar="TIER",
                        help=f"tiers to build: {', '.join(BUILD_TIERS)} (default: all)")
    parser.add_argument("--list", action="store_true", help="list the pins and what is built; build nothing")
    parser.add_argument("--rebuild", action="append", default=[], metavar="NAME", help="rebuild this tool")
    args = parser.parse_args(argv)
    try:
        tools = load()
    except PinError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unknown = sorted(set(args.tiers) - set(BUILD_TIERS))
    if unknown:
        print(f"error: unknown tiers {unknown}; expected some of {', '.join(BUILD_TIERS)}", file=sys.stderr)
        return 2
    unknown = sorted(set(args.rebuild) - {tool.name for tool in tools})
    if unknown:
        print(f"error: --rebuild {unknown}: not pinned in scripts/tools/pins.toml", file=sys.stderr)
        return 2
    if args.tiers or not args.rebuild:
        selected = [tool for tool in tools if not args.tiers or tool.tier in args.tiers or tool.name in args.rebuild]
    else:
        selected = [tool for tool in tools if tool.name in args.rebuild]

    if args.list:
        rows = [("tool", "tier", "version", "licence", "built")]
        for tool in selected:
            built = (built_dir(tool) / ".built").exists()
            rows.append((tool.name, tool.tier, tool.release, tool.licence, "yes" if built else "no"))
        print(table(rows))
        return 0

    print(f"tools cache: {home()} (binaries linked into {bin_dir()})", flush=True)
    started = time.monotonic()
    results: list[Built] = []
    failures: list[str] = []
    with locked():
        for tool in selected:
            source = f"{tool.module}@{tool.version}" if not tool.recipe else f"the {tool.recipe} step of recipes.py"
            print(f"--> {tool.name} {tool.release} ({source})", flush=True)
            try:
                results.append(build(tool, force=tool.name in args.rebuild))
            except Exception as error:  # one tool's failure must not stop the others
                line = failure_line(tool, error)
                failures.append(f"{tool.name}: {line}")
                print(f"    FAILED: {line}", flush=True)

    rows = [("tool", "version", "path", "seconds")]
    for result in results:
        seconds = f"{result.seconds:.0f}" + (" (cached)" if result.cached else "")
        rows.append((result.tool.name, result.tool.release, str(result.directory), seconds))
    print()
    print(table(rows))
    built_tiers = args.tiers or (BUILD_TIERS if not args.rebuild else [])
    print(f"total {time.monotonic() - started:.0f} s; tiers: {', '.join(built_tiers) or 'none'}"
          + (f"; rebuilt: {', '.join(args.rebuild)}" if args.rebuild else ""))
    if failures:
        print("\nerror: these tools could not be fetched or built:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
