"""Prometheus metrics of the scaler, on a registry of its own (so each app and test is isolated).

Per-function series are only created for functions the provider confirmed to exist, so made-up
names in webhook payloads cannot grow the number of series.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The `*_created` series only double the output; nothing here reads them.
disable_created_metrics()


class ScalerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.webhook_requests = Counter(
            "scaler_webhook_requests", "POST /system/alert requests by HTTP status code",
            ["code"], registry=registry,
        )
        self.webhook_duration = Histogram(
            "scaler_webhook_duration_seconds", "Time to answer POST /system/alert",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=registry,
        )
        self.alerts = Counter(
            "scaler_alerts", "Alerts received, by outcome (applied, unchanged, skipped, failed, ignored)",
            ["outcome"], registry=registry,
        )
        self.decisions = Counter(
            "scaler_decisions", "Scaling decisions by function, direction (up, down, none) and reason",
            ["function", "direction", "reason"], registry=registry,
        )
        self.desired_replicas = Gauge(
            "scaler_desired_replicas", "Replica count the scaler last decided for a function",
            ["function"], registry=registry,
        )
        self.provider_duration = Histogram(
            "scaler_provider_request_duration_seconds", "Latency of faas-provider API calls by operation",
            ["operation"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.provider_errors = Counter(
            "scaler_provider_errors", "Failed faas-provider API calls by operation and kind",
            ["operation", "kind"], registry=registry,
        )
        self.load_queries = Counter(
            "scaler_load_queries", "Prometheus load queries by result (ok, error)",
            ["result"], registry=registry,
        )
        self.unexpected_errors = Counter(
            "scaler_unexpected_errors", "Exceptions caught by the scaler that were not expected",
            ["where"], registry=registry,
        )
        self.scale_to_zero_refused = Counter(
            "scaler_scale_to_zero_refused", "Functions whose provider refused replicas 0 (then not retried)",
            registry=registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
