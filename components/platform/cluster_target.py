"""Which cluster the default kubernetes provider deploys to, in words, for the program to say before it does.

The provider's own error for an unreachable cluster names the API server's address only; a platform team
runs one program against several clusters, so the program names the kubeconfig context as well.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi
import yaml

DEFAULT_KUBECONFIG = Path.home() / ".kube" / "config"


def _kubeconfig_document(setting: str | None) -> tuple[dict[str, Any], str]:
    """The kubeconfig the provider reads (its `kubeconfig` setting, as a path or as content; else $KUBECONFIG,
    first file; else ~/.kube/config) and where it came from."""
    if setting:
        if "\n" in setting or setting.lstrip().startswith(("{", "apiVersion")):
            return yaml.safe_load(setting) or {}, "the kubernetes:kubeconfig setting"
        source = Path(setting).expanduser()
    elif os.environ.get("KUBECONFIG"):
        source = Path(os.environ["KUBECONFIG"].split(os.pathsep)[0]).expanduser()
    else:
        source = DEFAULT_KUBECONFIG
    try:
        return yaml.safe_load(source.read_text()) or {}, str(source)
    except (OSError, yaml.YAMLError):
        return {}, str(source)


def describe_target(config: pulumi.Config | None = None) -> str | None:
    """`context NAME (server URL) of FILE`, or None when the provider renders YAML instead of deploying."""
    config = config or pulumi.Config("kubernetes")
    if config.get("renderYamlToDirectory"):
        return None
    document, source = _kubeconfig_document(config.get("kubeconfig"))
    context = config.get("context") or document.get("current-context") or "(none)"
    contexts = {item.get("name"): item.get("context") or {} for item in document.get("contexts") or []}
    clusters = {item.get("name"): item.get("cluster") or {} for item in document.get("clusters") or []}
    cluster = config.get("cluster") or contexts.get(context, {}).get("cluster")
    server = clusters.get(cluster, {}).get("server", "unknown server")
    return f"kubeconfig context {context!r} (server {server}) of {source}"
