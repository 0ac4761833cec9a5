"""Pinned image references for every platform workload, one place to bump a version.

The stack config `faasplane:images` overrides any entry by its key; the Pro edition swaps in the
OpenFaaS Pro images (ghcr.io/openfaasltd), which need a licence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

IMAGE_REFERENCE = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?"  # registry host
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"  # path
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"  # tag, digest
)
"""An image reference as Docker and Kubernetes read it: `[registry[:port]/]path[:tag][@sha256:<digest>]`."""


def is_image_reference(value: object) -> bool:
    return isinstance(value, str) and IMAGE_REFERENCE.match(value) is not None


CE_IMAGES: dict[str, str] = {
    "gateway": "ghcr.io/openfaas/gateway:0.27.13",
    "faasNetes": "ghcr.io/openfaas/faas-netes:0.18.17",
    "queueWorker": "ghcr.io/openfaas/queue-worker:0.14.2",
    "nats": "nats-streaming:0.25.6",
    "prometheus": "prom/prometheus:v3.5.0@sha256:63805ebb8d2b3920190daf1cb14a60871b16fd38bed42b857a3182bc621f4996",
    "alertmanager": "prom/alertmanager:v0.28.1@sha256:27c475db5fb156cab31d5c18a4251ac7ed567746a2483ff264516437a39b15ba",
}
"""OpenFaaS CE images (chart `openfaas` 15.x) and the Prometheus stack.

The Prometheus images carry their digests (tag kept for readers). The OpenFaaS and NATS images are pinned
by tag only: their digests could not be resolved where this was written (no registry access). Production
stacks pin them with `uv run --frozen python scripts/pin-images.py`, which resolves each tag on a machine
with registry access and writes `faasplane:images` into the stack file; the `pinned-images` policy demands
digests in prod."""

PRO_IMAGES: dict[str, str] = {
    "gateway": "ghcr.io/openfaasltd/gateway:0.5.20",
    "faasNetes": "ghcr.io/openfaasltd/faas-netes:0.5.93",
    "queueWorker": "ghcr.io/openfaasltd/jetstream-queue-worker:0.5.7",
    "nats": "nats:2.14.0",
}
"""OpenFaaS Pro images replacing their CE counterparts when `faasplane:edition` is `pro`
(the Pro queue-worker speaks JetStream, so NATS Streaming gives way to NATS with JetStream)."""

IMAGE_KEYS = tuple(CE_IMAGES)


def resolve_images(edition: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The image reference for every component: edition defaults, then the stack's overrides."""
    images = dict(CE_IMAGES)
    if edition == "pro":
        images.update(PRO_IMAGES)
    images.update(overrides or {})
    return images


TEMPLATE_IMAGES: dict[str, str] = {
    "watchdog": "ghcr.io/openfaas/of-watchdog:0.11.5",
    "python": "python:3.12-slim-bookworm",
    "golang": "golang:1.23-alpine3.20",
    "runtime": "alpine:3.20",
}
"""Base images of the function templates (`components/function/templates/<lang>/Dockerfile`) and of the scaler image."""
