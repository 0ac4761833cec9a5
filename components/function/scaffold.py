"""Scaffold a function from a template's handler skeleton, as `faas-cli new` does.

    python -m faasplane.components.function.scaffold NAME --lang LANG [--dir DIR]

creates `DIR/NAME/` (default `functions/NAME/`) from `components/function/templates/LANG/skeleton/` (files ending
`.j2` rendered with jinja2), with a handler test, and prints the declaration to add to
`functions/__init__.py`. It refuses an existing directory, an unknown template or an invalid name, with
exit code 2 and the reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from faasplane.components.function import build
from faasplane.components.function.args import name_problem
from faasplane.components.function.templating import available_templates, render_template_file, template

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


class ScaffoldError(Exception):
    """The function cannot be scaffolded; the message says why and what to do."""


def scaffold(name: str, lang: str, directory: Path = FUNCTIONS_DIR) -> list[Path]:
    """Create `directory/name` from the template's skeleton; returns the files written."""
    problem = name_problem(name)
    if problem:
        raise ScaffoldError(f"function name {problem.message}")
    if lang not in available_templates():
        raise ScaffoldError(f"unknown template {lang!r}: expected one of {', '.join(available_templates())}")
    target = directory / name
    if target.exists():
        raise ScaffoldError(f"{target} already exists: choose another name, or remove the directory first")
    skeleton = template(lang).skeleton
    files: dict[Path, bytes] = {}
    for path in build.context_files(skeleton):
        relative = path.relative_to(skeleton)
        if path.suffix == ".j2":
            files[relative.with_suffix("")] = render_template_file(path, name).encode()
        else:
            files[relative] = path.read_bytes()
    written = []
    for relative, content in sorted(files.items()):
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def declaration(name: str, lang: str) -> str:
    """The Python to add inside `declare_functions()` in functions/__init__.py."""
    return (
        "        Function(\n"
        f"            {name!r},\n"
        f"            FunctionArgs(handler=FUNCTIONS_DIR / {name!r}, lang={lang!r}, scale=Scale(min=1, max=5)),\n"
        "            platform,\n"
        "        ),\n"
    ).replace("'", '"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faasplane.components.function.scaffold",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="function name (a DNS-1123 label starting with a letter)")
    parser.add_argument("--lang", required=True, help=f"template: {', '.join(available_templates())}")
    parser.add_argument("--dir", type=Path, default=FUNCTIONS_DIR, help="where to create NAME/ (default: functions/)")
    args = parser.parse_args(argv)
    try:
        written = scaffold(args.name, args.lang, args.dir)
    except ScaffoldError as exc:
        print(f"faasplane.components.function.scaffold: {exc}", file=sys.stderr)
        return 2
    target = args.dir / args.name
    print(f"Created {target} from the {args.lang} template: {', '.join(str(p.relative_to(target)) for p in written)}")
    print()
    print("Declare it in functions/__init__.py, in the list declare_functions() returns:")
    print()
    print(declaration(args.name, args.lang), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
