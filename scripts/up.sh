#!/usr/bin/env bash
# make up: the dev stack on a local kind cluster with kind's local registry on localhost:5001.
#
# Safe to re-run: every step checks before it acts, and `pulumi up` changes nothing when nothing changed.
# Exits 2 before doing anything when docker (with a running daemon), kind, pulumi or uv is missing, or
# when the passphrase file is gone but the stack file still has the encryptionsalt: line it made.
# STACK=<name> selects another stack file (default dev); it must push to localhost:<port> and expose
# the gateway as a NodePort.
set -euo pipefail

here="${BASH_SOURCE[0]%/*}"
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
FAASPLANE_ROOT="$(cd "$here/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$FAASPLANE_ROOT/scripts/lib.sh"

require_tools docker kind pulumi uv
cd "$FAASPLANE_ROOT"

# Before anything changes: a passphrase that has to be generated must not meet state or a salt made by
# a lost one. The first `pulumi stack select --create` writes `encryptionsalt:` (derived from the
# passphrase) into the git-tracked stack file; with a new passphrase Pulumi then fails with
# "incorrect passphrase".
pulumi_env
stack_file="stacks/Pulumi.$STACK.yaml"
if [[ ! -f "$PULUMI_CONFIG_PASSPHRASE_FILE" ]]; then
  if backend_has_stacks; then
    die "$PULUMI_CONFIG_PASSPHRASE_FILE is missing but .pulumi/ holds stacks encrypted with it:" \
      "restore the file, or remove .pulumi/ (and the encryptionsalt line of $stack_file) to start over"
  fi
  if grep -q '^encryptionsalt:' "$stack_file" 2>/dev/null; then
    {
      printf 'error: %s is missing, but %s still has the encryptionsalt: line made from it,\n' \
        "$PULUMI_CONFIG_PASSPHRASE_FILE" "$stack_file"
      printf 'so a newly generated passphrase would fail with "incorrect passphrase". Either:\n'
      printf '  - restore %s (the passphrase that made the salt), or\n' "$PULUMI_CONFIG_PASSPHRASE_FILE"
      printf '  - start the stack over: delete the encryptionsalt: line (and any secure: values) from %s\n' \
        "$stack_file"
      printf 'and run it again. Nothing was changed.\n'
    } >&2
    exit 2
  fi
fi

log "Python environment from the lock file (uv sync --frozen)"
uv sync --frozen

# The kind config, hosts.toml and ConfigMap as files built from the stack config, plus the facts.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
facts="$(kind_write "$work" cluster-name kube-context node-container registry-container registry-port \
  registry-container-port registry-hosts-dir node-port listen-address)"
mapfile -t fact <<<"$facts"
((${#fact[@]} == 9)) || die "scripts.kind_config printed ${#fact[@]} facts, expected 9"
cluster="${fact[0]}" context="${fact[1]}" control_plane="${fact[2]}" registry="${fact[3]}"
registry_port="${fact[4]}" registry_container_port="${fact[5]}" hosts_dir="${fact[6]}"
node_port="${fact[7]}" listen_address="${fact[8]}"

# 1. The registry container, published on 127.0.0.1 only.
case "$(container_running "$registry")" in
  true) log "registry $registry is running on localhost:$registry_port" ;;
  false)
    log "starting the stopped registry $registry"
    docker start "$registry" >/dev/null
    ;;
  *)
    log "creating the registry $registry on localhost:$registry_port"
    docker run -d --restart=always -p "$listen_address:$registry_port:$registry_container_port" \
      --network bridge --name "$registry" "$REGISTRY_IMAGE" >/dev/null
    ;;
esac

# 2. The kind cluster with containerd's registry config dir and the gateway NodePort on 127.0.0.1.
if cluster_exists "$cluster"; then
  log "kind cluster $cluster exists"
else
  log "creating kind cluster $cluster (gateway NodePort $node_port -> $listen_address:$node_port)"
  kind create cluster --name "$cluster" --config="$work/cluster.yaml" --wait 120s
fi
mapfile -t nodes < <(kind get nodes --name "$cluster")
((${#nodes[@]} > 0)) || die "kind cluster $cluster has no nodes: run 'make down' and 'make up' again"
for node in "${nodes[@]}"; do
  if [[ "$(container_running "$node")" == false ]]; then
    log "starting the stopped node $node"
    docker start "$node" >/dev/null
  fi
done
if ! docker port "$control_plane" "$node_port/tcp" 2>/dev/null | grep -q "^$listen_address:$node_port\$"; then
  die "kind cluster $cluster does not map the gateway NodePort $node_port to $listen_address:$node_port" \
    "(it was created by something else): run 'make down' and 'make up' again"
fi

# 3. Inside each node, localhost:<port> is the registry container on the kind network.
for node in "${nodes[@]}"; do
  docker exec "$node" mkdir -p "$hosts_dir"
  docker exec -i "$node" cp /dev/stdin "$hosts_dir/hosts.toml" <"$work/hosts.toml"
done

# 4. The registry joins the cluster's network (kind creates the network with the first cluster).
if [[ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$registry")" == null ]]; then
  log "connecting $registry to the kind network"
  docker network connect kind "$registry"
fi

# 5. Document the local registry in the cluster (KEP-1755), with the node's own kubectl.
docker exec -i "$control_plane" kubectl --kubeconfig=/etc/kubernetes/admin.conf apply -f - \
  <"$work/registry-configmap.yaml" >/dev/null

# 6. Pulumi: self-managed backend in .pulumi/, generated passphrase file, the stack, pulumi up.
mkdir -p "$FAASPLANE_ROOT/.pulumi"
if [[ ! -f "$PULUMI_CONFIG_PASSPHRASE_FILE" ]]; then
  # Checked above: no stacks in .pulumi/ and no encryptionsalt: in the stack file.
  log "generating the state passphrase in .pulumi-passphrase (mode 600, git-ignored)"
  (
    umask 077
    head -c 32 /dev/urandom | base64 >"$PULUMI_CONFIG_PASSPHRASE_FILE.tmp"
  )
  mv "$PULUMI_CONFIG_PASSPHRASE_FILE.tmp" "$PULUMI_CONFIG_PASSPHRASE_FILE"
fi
chmod 600 "$PULUMI_CONFIG_PASSPHRASE_FILE"

log "stack $STACK (state in .pulumi/, config in $stack_file)"
pulumi stack select --create "$STACK" --non-interactive
if ! pulumi config get faasplane:adminPassword --stack "$STACK" >/dev/null 2>&1; then
  # The gateway's admin password is a stack secret: generated once, encrypted into the stack file.
  log "generating the gateway admin password (a secret in $stack_file)"
  head -c 30 /dev/urandom | base64 | tr -d '\n' |
    pulumi config set --secret faasplane:adminPassword --stack "$STACK" --non-interactive
fi
# --refresh first reconciles the state with the cluster (e.g. a cluster deleted and re-created by hand).
pulumi up --yes --refresh --non-interactive --stack "$STACK"

url="$(pulumi stack output externalGatewayUrl --stack "$STACK")"
url="${url%/}"
cat <<EOF

faasplane is up: stack $STACK on kind cluster $cluster (kubectl context $context).
  Gateway:        $url
  Admin password: PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL PULUMI_CONFIG_PASSPHRASE_FILE=$PULUMI_CONFIG_PASSPHRASE_FILE pulumi stack output adminPassword --show-secrets --stack $STACK
                  (user admin)
  Call sum:       curl -s -d '1 2 3' $url/function/sum
  Images:         push to localhost:$registry_port
Tear down with: make down
EOF
