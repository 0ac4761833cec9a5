"""Recording stand-ins for docker, kind, pulumi and uv, so `scripts/up.sh` and `scripts/down.sh` run here.

Each stub is a small bash script that appends its argv (and the Pulumi environment) to `STATE/log` and
keeps just enough state in `STATE/` (containers, cluster, networks, files copied into nodes) to answer
the questions the scripts ask. `uv run ... python ARGS` runs the real interpreter, so the kind config,
hosts.toml and ConfigMap come from the real `scripts.kind_config`.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GATEWAY_URL = "http://127.0.0.1:31112"

_DOCKER = r"""#!/usr/bin/env bash
set -euo pipefail
S="$STUB_STATE"; mkdir -p "$S/containers"
echo "docker $*" >>"$S/log"
case "$1" in
  info) [[ ! -e "$S/daemon-down" ]] ;;
  inspect)
    fmt="$3"; name="$4"
    [[ -f "$S/containers/$name" ]] || { echo "Error: No such object: $name" >&2; exit 1; }
    case "$fmt" in
      *State.Running*) cat "$S/containers/$name" ;;
      *Networks.kind*) if [[ -e "$S/net-$name" ]]; then echo '{"NetworkID":"n"}'; else echo null; fi ;;
    esac ;;
  run) name=""; prev=""; for a in "$@"; do [[ "$prev" == --name ]] && name="$a"; prev="$a"; done
       echo true >"$S/containers/$name"; echo 0123abcd ;;
  start) echo true >"$S/containers/$2"; echo "$2" ;;
  rm) rm -f "$S/containers/$3" "$S/net-$3" ;;
  port) [[ -f "$S/containers/$2" ]] && echo "127.0.0.1:${3%/tcp}" ;;
  network) touch "$S/net-$4" ;;
  exec)
    if [[ "$2" == -i ]]; then
      if [[ "$4" == kubectl ]]; then cat >"$S/kubectl-apply.yaml"; else cat >"$S/node-file"; echo "$6" >"$S/node-file-path"; fi
    fi ;;
esac
"""

_KIND = r"""#!/usr/bin/env bash
set -euo pipefail
S="$STUB_STATE"; mkdir -p "$S/containers"
echo "kind $*" >>"$S/log"
case "$1 $2" in
  "get clusters") [[ -e "$S/cluster" ]] && echo faasplane; true ;;
  "get nodes") [[ -e "$S/cluster" ]] && echo faasplane-control-plane; true ;;
  "create cluster") for a in "$@"; do [[ "$a" == --config=* ]] && cp "${a#--config=}" "$S/kind-config.yaml"; done; touch "$S/cluster"; echo true >"$S/containers/faasplane-control-plane" ;;
  "delete cluster") rm -f "$S/cluster" "$S/containers/faasplane-control-plane" ;;
esac
"""

_PULUMI = r"""#!/usr/bin/env bash
set -euo pipefail
S="$STUB_STATE"
echo "pulumi $* [backend=${PULUMI_BACKEND_URL:-} passfile=${PULUMI_CONFIG_PASSPHRASE_FILE:-} pass=${PULUMI_CONFIG_PASSPHRASE:-}]" >>"$S/log"
case "$1 $2" in
  "stack select")
    if [[ " $* " == *" --create "* ]]; then
      touch "$S/stack"
      # As Pulumi does with a passphrase: the first select --create writes a salt made from it into the
      # stack file, and a salt from another passphrase is refused.
      name=""; for a in "${@:3}"; do [[ "$a" != -* ]] && { name="$a"; break; }; done
      file="stacks/Pulumi.$name.yaml"
      salt="encryptionsalt: v1:$(head -c 12 "$PULUMI_CONFIG_PASSPHRASE_FILE")"
      if ! grep -q '^encryptionsalt:' "$file" 2>/dev/null; then
        echo "$salt" >>"$file"
      elif ! grep -qxF -- "$salt" "$file"; then
        echo "error: incorrect passphrase" >&2; exit 255
      fi
    else
      [[ -e "$S/stack" ]]
    fi ;;
  "stack output") [[ "$3" == externalGatewayUrl ]] && echo "__URL__/" ;;
  "config get") [[ -s "$S/admin-password" ]] && cat "$S/admin-password" ;;
  "config set") cat >"$S/admin-password" ;;
esac
"""

_UV = r"""#!/usr/bin/env bash
set -euo pipefail
echo "uv $*" >>"$STUB_STATE/log"
if [[ "$1" == run ]]; then
  shift
  while [[ "$1" != python ]]; do shift; done
  shift
  exec "__PYTHON__" "$@"
fi
"""


def write_stubs(bin_dir: Path, tools: tuple[str, ...] = ("docker", "kind", "pulumi", "uv")) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    sources = {"docker": _DOCKER, "kind": _KIND, "pulumi": _PULUMI.replace("__URL__", GATEWAY_URL),
               "uv": _UV.replace("__PYTHON__", sys.executable)}
    for tool in tools:
        path = bin_dir / tool
        path.write_text(sources[tool])
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def make_repo(root: Path) -> Path:
    """A throw-away repository layout: real scripts and stack files copied, the packages they import
    (components, and scaler, whose settings the config validates against) linked."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "scripts", root / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "stacks", root / "stacks")
    shutil.copy2(REPO / "Pulumi.yaml", root / "Pulumi.yaml")
    for package in ("components", "scaler"):
        (root / package).symlink_to(REPO / package, target_is_directory=True)
    return root


def minimal_path(bin_dir: Path) -> str:
    """A PATH with bash and the coreutils the scripts use, and none of docker, kind, pulumi, uv."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in ("bash", "env", "cat", "mkdir", "mv", "chmod", "head", "base64", "grep", "find", "rm", "touch", "mktemp", "cp", "tr"):
        found = shutil.which(tool)
        if found and not (bin_dir / tool).exists():
            (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def script_env(path: str, state: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PULUMI_", "VIRTUAL_ENV"))}
    env.update({"PATH": path, "STUB_STATE": str(state), "HOME": str(state / "home")})
    env.pop("STACK", None)
    return env
