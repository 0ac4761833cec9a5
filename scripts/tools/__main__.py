"""Build the pinned tools from Go modules into the tools cache (`make tools`).

    python3 -m scripts.tools [TIER ...]      # build these tiers (default: every tier)
    python3 -m scripts.tools --list          # what is pinned, and whether it is built
    python3 -m scripts.tools --rebuild NAME  # build NAME again even if it is in the cache

Skips what is already built with the same pins, prints a table (tool, version, path, seconds) and exits 1
naming every module and version that could not be fetched or built (the other tools are still built).
"""

from __future__ import annotations

import argparse
import sys
import time

from scripts.tools import bin_dir, home
from scripts.tools.build import BuildError, Built, build, built_dir
from scripts.tools.pins import TIERS, PinError, load


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m scripts.tools", description=__doc__.split("\n\n")[0])
    parser.add_argument("tiers", nargs="*", metavar="TIER", help=f"tiers to build: {', '.join(TIERS)} (default: all)")
    parser.add_argument("--list", action="store_true", help="list the pins and what is built; build nothing")
    parser.add_argument("--rebuild", action="append", default=[], metavar="NAME", help="rebuild this tool")
    args = parser.parse_args(argv)
    try:
        tools = load()
    except PinError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    unknown = sorted(set(args.tiers) - set(TIERS))
    if unknown:
        print(f"error: unknown tiers {unknown}; expected some of {', '.join(TIERS)}", file=sys.stderr)
        return 2
    unknown = sorted(set(args.rebuild) - {tool.name for tool in tools})
    if unknown:
        print(f"error: --rebuild {unknown}: not pinned in scripts/tools/pins.toml", file=sys.stderr)
        return 2
    selected = [tool for tool in tools if not args.tiers or tool.tier in args.tiers or tool.name in args.rebuild]

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
    for tool in selected:
        print(f"--> {tool.name} {tool.release} ({tool.module}@{tool.version})", flush=True)
        try:
            results.append(build(tool, force=tool.name in args.rebuild))
        except BuildError as error:
            failures.append(f"{tool.name}: {error}")
            print(f"    FAILED: {str(error).splitlines()[0]}", flush=True)

    rows = [("tool", "version", "path", "seconds")]
    for result in results:
        seconds = f"{result.seconds:.0f}" + (" (cached)" if result.cached else "")
        rows.append((result.tool.name, result.tool.release, str(result.directory), seconds))
    print()
    print(table(rows))
    print(f"total {time.monotonic() - started:.0f} s; tiers: {', '.join(args.tiers or TIERS)}")
    if failures:
        print("\nerror: these tools could not be fetched or built:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
