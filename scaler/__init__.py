"""faasplane scaler: an Alertmanager webhook receiver that scales OpenFaaS functions.

Run with `python -m faasplane.scaler`; configuration is read from `SCALER_*` environment variables (see
scaler/README.md). This module stays free of third-party imports so that `faasplane.scaler.labels` can be
used by the Pulumi components without the scaler's runtime dependencies.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
