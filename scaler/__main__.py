"""`python -m faasplane.scaler`: validate the environment, then serve with uvicorn until SIGTERM.

On SIGTERM uvicorn stops accepting connections and lets in-flight webhooks finish for up to
SCALER_SHUTDOWN_TIMEOUT seconds before the background loops are cancelled.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    from faasplane.scaler import logs
    from faasplane.scaler.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"scaler: invalid configuration: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)

    import uvicorn

    from faasplane.scaler.app import create_app

    config = uvicorn.Config(
        create_app(settings, environment=os.environ),
        host=settings.listen_host,
        port=settings.listen_port,
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=settings.shutdown_timeout,
        server_header=False,
    )
    uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
