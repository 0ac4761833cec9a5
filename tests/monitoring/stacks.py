"""The configurations the monitoring tests check: the real dev and prod stack files, and variants."""

from __future__ import annotations

from typing import Any

from faasplane.components import names
from faasplane.components.config import AlertRule, PlatformConfig, parse_config
from faasplane.components.render import read_stack_config

STACKS = ("dev", "prod")

PROD_LIKE_RULE = AlertRule(threshold_rps=10, for_="15s")
"""The production stack's scaling rule: 10 rps held for 15 s."""

PRO_SETTINGS: dict[str, Any] = {
    "edition": names.EDITION_PRO,
    "licenseKey": "test-licence",
    "namespaces": {"controlPlane": "faas-system", "functions": "faas-fns"},
    "prometheus": {"storage": "persistent", "storageClassName": "fast-ssd", "retention": "15d"},
    "alertRule": {"name": "FunctionHighRate", "thresholdRps": 10, "for": "15s", "statusCode": None},
    "scaler": {
        "image": "registry.example.com/faasplane-scaler:1.2.3",
        "policy": "openfaas",
        "logLevel": "debug",
        "env": {"SCALER_UP_PERIOD": "30s"},
    },
}
"""A Pro stack that renames everything a builder could have hard-coded."""


def stack_config(stack: str) -> PlatformConfig:
    """The typed config of `stacks/Pulumi.<stack>.yaml` (the `faasplane:*` keys only)."""
    raw, _ = read_stack_config(stack)
    prefix = f"{names.PROJECT}:"
    return parse_config({key.removeprefix(prefix): value for key, value in raw.items() if key.startswith(prefix)})


def pro_config() -> PlatformConfig:
    return parse_config(PRO_SETTINGS)
