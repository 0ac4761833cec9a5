"""Check objects with the real Kubernetes schemas (kubernetes-validate, strict: unknown fields fail)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
"""The oldest version we support and the newest one kubernetes-validate bundles."""


def schema_errors(obj: dict[str, Any], versions: tuple[str, ...] = KUBERNETES_VERSIONS) -> list[str]:
    """Schema violations of one object for each version (empty when valid)."""
    errors = []
    for version in versions:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(part) for part in exc.path)
            errors.append(f"{version}: {obj['kind']}/{obj['metadata'].get('name')}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{version}: {obj['kind']}: no schema: {exc}")
    return errors
