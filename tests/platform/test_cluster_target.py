"""The program names the kubeconfig context it deploys to (the provider's errors name only the server)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from faasplane.components.platform import cluster_target


class Config:
    def __init__(self, **values: str) -> None:
        self.values = values

    def get(self, key: str) -> str | None:
        return self.values.get(key)


def kubeconfig(current: str = "kind-faasplane") -> dict:
    return {
        "current-context": current,
        "contexts": [{"name": "kind-faasplane", "context": {"cluster": "kind"}},
                     {"name": "prod", "context": {"cluster": "eks"}}],
        "clusters": [{"name": "kind", "cluster": {"server": "https://127.0.0.1:6443"}},
                     {"name": "eks", "cluster": {"server": "https://eks.example.com"}}],
    }


def test_the_current_context_of_the_kubeconfig_file(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig()))
    assert cluster_target.describe_target(Config(kubeconfig=str(path))) == \
        f"kubeconfig context 'kind-faasplane' (server https://127.0.0.1:6443) of {path}"


def test_the_context_setting_wins_and_content_is_read_too() -> None:
    described = cluster_target.describe_target(Config(kubeconfig=yaml.safe_dump(kubeconfig()), context="prod"))
    assert described == "kubeconfig context 'prod' (server https://eks.example.com) of the kubernetes:kubeconfig setting"


def test_kubeconfig_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env-config"
    path.write_text(yaml.safe_dump(kubeconfig("prod")))
    monkeypatch.setenv("KUBECONFIG", f"{path}:{tmp_path / 'other'}")
    assert "context 'prod' (server https://eks.example.com)" in cluster_target.describe_target(Config())


def test_render_mode_deploys_nowhere() -> None:
    assert cluster_target.describe_target(Config(renderYamlToDirectory="/tmp/out")) is None
