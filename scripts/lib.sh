# shellcheck shell=bash
# Shared by scripts/up.sh and scripts/down.sh: tool checks, the self-managed Pulumi backend, kind facts.
# Sourced, never run. Expects FAASPLANE_ROOT (the repository) to be set by the caller.

STACK="${STACK:-dev}"
REGISTRY_IMAGE="${REGISTRY_IMAGE:-registry:3}"

log() { printf '==> %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

install_hint() {
  case "$1" in
    docker) echo "Docker Engine, https://docs.docker.com/engine/install/ (Debian/Ubuntu: apt-get install docker.io; macOS and Windows: Docker Desktop)" ;;
    "docker daemon") echo "the docker CLI is there but no daemon answers: start it (systemctl start docker, or open Docker Desktop) and check 'docker info'" ;;
    kind) echo "https://kind.sigs.k8s.io/docs/user/quick-start/#installation (go install sigs.k8s.io/kind@latest, or brew install kind)" ;;
    pulumi) echo "the Pulumi CLI, https://www.pulumi.com/docs/iac/download-install/ (curl -fsSL https://get.pulumi.com | sh, or brew install pulumi/tap/pulumi)" ;;
    uv) echo "https://docs.astral.sh/uv/getting-started/installation/ (pipx install uv, or python3 -m pip install uv)" ;;
    *) echo "install $1" ;;
  esac
}

# require_tools TOOL...: exit 2, before anything is changed, listing every missing tool (and a docker
# daemon that does not answer) with how to install it.
require_tools() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if command -v docker >/dev/null 2>&1 && [[ " $* " == *" docker "* ]]; then
    docker info --format '{{.ServerVersion}}' >/dev/null 2>&1 || missing+=("docker daemon")
  fi
  if ((${#missing[@]} > 0)); then
    {
      printf 'error: %s needs tools that are missing here:\n' "${0##*/}"
      for tool in "${missing[@]}"; do
        printf '  - %s: %s\n' "$tool" "$(install_hint "$tool")"
      done
      printf 'Nothing was changed. Install them and run it again.\n'
    } >&2
    exit 2
  fi
}

# kind_values NAME...: facts about the cluster and registry, one a line, from stacks/Pulumi.$STACK.yaml.
kind_values() {
  uv run --frozen --quiet python -m scripts.kind_config --stack "$STACK" value "$@"
}

# kind_write DIR NAME...: the kind config, hosts.toml and ConfigMap into DIR, then the facts.
kind_write() {
  uv run --frozen --quiet python -m scripts.kind_config --stack "$STACK" write "$@"
}

# container_running NAME: prints true, false, or nothing when there is no such container.
container_running() {
  docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null || true
}

cluster_exists() {
  local clusters
  clusters="$(kind get clusters 2>/dev/null || true)"
  grep -qx -- "$1" <<<"$clusters"
}

# The self-managed state backend inside the repository, with a passphrase file: no account needed.
pulumi_env() {
  export PULUMI_BACKEND_URL="file://${FAASPLANE_ROOT}/.pulumi"
  export PULUMI_CONFIG_PASSPHRASE_FILE="${FAASPLANE_ROOT}/.pulumi-passphrase"
  export PULUMI_SKIP_UPDATE_CHECK=true
  # One source of the passphrase: an inherited PULUMI_CONFIG_PASSPHRASE would take precedence.
  unset PULUMI_CONFIG_PASSPHRASE
}

# True when the backend already holds a stack (its secrets need the passphrase that made them).
backend_has_stacks() {
  local stacks_dir="${FAASPLANE_ROOT}/.pulumi/.pulumi/stacks"
  [[ -d "$stacks_dir" ]] && [[ -n "$(find "$stacks_dir" -type f -name '*.json' -print -quit)" ]]
}
