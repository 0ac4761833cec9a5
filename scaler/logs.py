"""Structured logging: every line the scaler writes is one JSON object."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

logger = logging.getLogger("scaler")
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def log_event(level: int, event: str, **fields: object) -> None:
    """Log one JSON line: `{"ts", "level", "event", "request_id"?, **fields}`."""
    if not logger.isEnabledFor(level):
        return
    record: dict[str, object] = {
        "ts": round(time.time(), 3),
        "level": logging.getLevelName(level).lower(),
        "event": event,
    }
    current = request_id.get()
    if current is not None:
        record["request_id"] = current
    record.update(fields)
    logger.log(level, json.dumps(record, default=str, separators=(",", ":")))


def configure(level: str = "info") -> None:
    """Send the scaler's JSON lines to stdout, unadorned."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
