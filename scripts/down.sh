#!/usr/bin/env bash
# make down: destroy the dev stack, then delete the kind cluster and its registry container.
#
# Safe to re-run. The state backend (.pulumi/) and its passphrase file stay, so a later `make up`
# reuses the (then empty) stack. To forget the stack entirely remove both and also the encryptionsalt:
# line of stacks/Pulumi.<stack>.yaml: it was made from that passphrase, and a new one does not match it.
set -euo pipefail

here="${BASH_SOURCE[0]%/*}"
[[ "$here" == "${BASH_SOURCE[0]}" ]] && here=.
FAASPLANE_ROOT="$(cd "$here/.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$FAASPLANE_ROOT/scripts/lib.sh"

require_tools docker kind pulumi uv
cd "$FAASPLANE_ROOT"

facts="$(kind_values cluster-name registry-container)"
mapfile -t fact <<<"$facts"
((${#fact[@]} == 2)) || die "scripts.kind_config printed ${#fact[@]} facts, expected 2"
cluster="${fact[0]}" registry="${fact[1]}"

pulumi_env
if [[ -d "$FAASPLANE_ROOT/.pulumi" ]] && pulumi stack select "$STACK" --non-interactive >/dev/null 2>&1; then
  if cluster_exists "$cluster"; then
    log "destroying stack $STACK"
    pulumi destroy --yes --non-interactive --stack "$STACK"
  else
    log "kind cluster $cluster is gone, so are the stack's Kubernetes objects; the next 'make up' refreshes the state"
  fi
else
  log "no stack $STACK in .pulumi/: nothing to destroy"
fi

if cluster_exists "$cluster"; then
  log "deleting kind cluster $cluster"
  kind delete cluster --name "$cluster"
else
  log "no kind cluster $cluster"
fi

if [[ -n "$(container_running "$registry")" ]]; then
  log "removing the registry container $registry"
  docker rm -f "$registry" >/dev/null
else
  log "no registry container $registry"
fi

log "kept .pulumi/ and .pulumi-passphrase for the next 'make up'; to forget stack $STACK, remove both" \
  "and the encryptionsalt: line of stacks/Pulumi.$STACK.yaml (it only matches that passphrase)"
