"""The kind cluster and local registry of `make up`, built as data from the stack config.

    python -m scripts.kind_config cluster            # kind Cluster config (YAML) for `kind create cluster --config -`
    python -m scripts.kind_config hosts-toml         # containerd hosts.toml for localhost:<port> inside each node
    python -m scripts.kind_config registry-configmap # the `local-registry-hosting` ConfigMap for kube-public
    python -m scripts.kind_config value NAME...      # facts, one a line: registry-port, node-port, ...
    python -m scripts.kind_config write DIR NAME...  # the three documents into DIR, then the facts

`write` is what `scripts/up.sh` uses: one interpreter start for everything it needs.

It follows kind's documented local-registry setup (a registry container `kind-registry` published on
127.0.0.1:<port>, containerd told to read `/etc/containerd/certs.d`, a hosts.toml per node aliasing
`localhost:<port>` to the registry container on the `kind` network, and the KEP-1755 ConfigMap). The
registry port and the gateway's NodePort come from `stacks/Pulumi.<stack>.yaml`, so the cluster and the
stack cannot disagree. Every document is built as data and dumped, never templated as text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from faasplane.components import names
from faasplane.components.config import PlatformConfig, parse_config
from faasplane.components.render import read_stack_config

ROOT = Path(__file__).resolve().parent.parent
STACKS_DIR = ROOT / "stacks"

CLUSTER_NAME = "faasplane"
"""`kind create cluster --name`; kind names the kubeconfig context `kind-<name>`."""
REGISTRY_CONTAINER = "kind-registry"
REGISTRY_CONTAINER_PORT = 5000
"""The port the registry listens on inside its container (and on the `kind` network)."""
CERTS_DIR = "/etc/containerd/certs.d"
REGISTRY_HOSTING_HELP = "https://kind.sigs.k8s.io/docs/user/local-registry/"
LISTEN_ADDRESS = "127.0.0.1"
"""Host address of the gateway's NodePort mapping: reachable from this machine only."""


class KindConfigError(ValueError):
    """The stack config does not fit a local kind cluster (e.g. the registry is not on localhost)."""


def stack_settings(stack: str = "dev", stacks_dir: Path = STACKS_DIR) -> PlatformConfig:
    """The typed `faasplane:*` settings of `stacks/Pulumi.<stack>.yaml`."""
    raw, _secret_keys = read_stack_config(stack, stacks_dir)
    prefix = f"{names.PROJECT}:"
    return parse_config({key.removeprefix(prefix): value for key, value in raw.items() if key.startswith(prefix)})


def registry_port(config: PlatformConfig) -> int:
    """The host port of the local registry: the stack must push to `localhost:<port>`."""
    host, _, port = config.registry.server.partition("/")[0].partition(":")
    if host != "localhost" or not port.isdigit():
        raise KindConfigError(
            f"faasplane:registry.server is {config.registry.server!r}: a kind stack pushes to the local "
            "registry, expected localhost:<port> such as localhost:5001"
        )
    return int(port)


def node_port(config: PlatformConfig) -> int:
    """The gateway's NodePort, mapped to the same port on 127.0.0.1."""
    exposure = config.gateway.exposure
    if exposure.type != "NodePort":
        raise KindConfigError(
            f"faasplane:gateway.exposure.type is {exposure.type!r}: on kind the gateway is reached through "
            "its NodePort, expected NodePort"
        )
    return exposure.node_port


def containerd_patch() -> str:
    """containerd reads per-registry `hosts.toml` files from the certs.d directory (kind's documented patch)."""
    return f'[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "{CERTS_DIR}"'


def cluster_config(config: PlatformConfig) -> dict[str, Any]:
    """The kind `Cluster`: one control-plane node, registry config dir enabled, gateway NodePort mapped."""
    port = node_port(config)
    return {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": CLUSTER_NAME,
        "containerdConfigPatches": [containerd_patch()],
        "nodes": [
            {
                "role": "control-plane",
                "extraPortMappings": [
                    {"containerPort": port, "hostPort": port, "listenAddress": LISTEN_ADDRESS, "protocol": "TCP"}
                ],
            }
        ],
    }


def registry_hosts_dir(config: PlatformConfig) -> str:
    """Inside each node: where containerd looks up `localhost:<port>`."""
    return f"{CERTS_DIR}/localhost:{registry_port(config)}"


def hosts_toml() -> str:
    """`localhost:<port>` inside a node means the registry container on the `kind` network."""
    return f'[host."http://{REGISTRY_CONTAINER}:{REGISTRY_CONTAINER_PORT}"]\n'


def registry_configmap(config: PlatformConfig) -> dict[str, Any]:
    """KEP-1755 `local-registry-hosting`: tells tools in the cluster where the local registry is."""
    hosting = {"host": f"localhost:{registry_port(config)}", "help": REGISTRY_HOSTING_HELP}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
        "data": {"localRegistryHosting.v1": yaml.safe_dump(hosting, sort_keys=False)},
    }


def values(config: PlatformConfig) -> dict[str, str]:
    """Single facts the shell scripts need."""
    return {
        "cluster-name": CLUSTER_NAME,
        "kube-context": f"kind-{CLUSTER_NAME}",
        "node-container": f"{CLUSTER_NAME}-control-plane",
        "registry-container": REGISTRY_CONTAINER,
        "registry-container-port": str(REGISTRY_CONTAINER_PORT),
        "registry-port": str(registry_port(config)),
        "registry-hosts-dir": registry_hosts_dir(config),
        "node-port": str(node_port(config)),
        "listen-address": LISTEN_ADDRESS,
    }


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (the containerd patch, the hosting document) as readable `|` blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, width=120)


DOCUMENTS = {
    "cluster.yaml": lambda config: dump(cluster_config(config)),
    "hosts.toml": lambda config: (registry_port(config), hosts_toml())[1],
    "registry-configmap.yaml": lambda config: dump(registry_configmap(config)),
}
"""The files `write` puts into its directory."""


def write_documents(config: PlatformConfig, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, build in DOCUMENTS.items():
        (out / name).write_text(build(config))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.kind_config", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads stacks/Pulumi.<stack>.yaml")
    parser.add_argument("what", choices=["cluster", "hosts-toml", "registry-configmap", "value", "write"])
    parser.add_argument("names", nargs="*", metavar="NAME", help="with `value`: which facts, printed one a line")
    args = parser.parse_args(argv)
    try:
        config = stack_settings(args.stack)
        if args.what == "cluster":
            sys.stdout.write(dump(cluster_config(config)))
        elif args.what == "hosts-toml":
            registry_port(config)
            sys.stdout.write(hosts_toml())
        elif args.what == "registry-configmap":
            sys.stdout.write(dump(registry_configmap(config)))
        else:
            names_ = args.names
            if args.what == "write":
                if not names_:
                    parser.error("write needs DIR")
                out, names_ = Path(names_[0]), names_[1:]
                write_documents(config, out)
            known = values(config)
            unknown = [name for name in names_ if name not in known]
            if unknown or (args.what == "value" and not names_):
                parser.error(f"value needs names among: {', '.join(known)}")
            if names_:
                print("\n".join(known[name] for name in names_))
    except (KindConfigError, ValueError) as exc:
        print(f"stacks/Pulumi.{args.stack}.yaml: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
