"""`faasplane:kubernetesDNSDomain`: every in-cluster address the platform renders uses the cluster's domain."""

from __future__ import annotations

import json

import pytest

from faasplane.components.config import ConfigError, parse_config
from faasplane.components.render import render_stack


def test_every_address_uses_the_configured_domain() -> None:
    rendered = render_stack("prod", {"faasplane:kubernetesDNSDomain": "k8s.corp.example"})
    text = json.dumps(rendered.kubernetes_objects())
    assert "cluster.local" not in text
    for address in ("nats.openfaas.svc.k8s.corp.example", "prometheus.openfaas.svc.k8s.corp.example",
                    "gateway.openfaas.svc.k8s.corp.example:8080", "scaler.openfaas.svc.k8s.corp.example:8080",
                    "alertmanager.openfaas.svc.k8s.corp.example:9093"):
        assert address in text, address
    assert rendered.outputs["gatewayUrl"] == "http://gateway.openfaas.svc.k8s.corp.example:8080"


def test_the_default_is_the_charts() -> None:
    assert parse_config({}).kubernetes_dns_domain == "cluster.local"
    text = json.dumps(render_stack("dev").kubernetes_objects())
    assert "nats.openfaas.svc.cluster.local" in text


def test_a_domain_that_is_not_a_dns_name_names_the_key() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({"kubernetesDNSDomain": "Cluster_Local"})
    assert "faasplane:kubernetesDNSDomain: \"Cluster_Local\" is not valid" in str(error.value)
