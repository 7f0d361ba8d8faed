"""Running the service: the web server (uvicorn over Django's ASGI app) and the
in-process Huey consumer that ``sfacal serve`` starts beside it.

Guarantees of the web server:

- Its log lines (server, access log, errors) go through the product's handler, so they are redacted
  like every other line (:mod:`sfacal.web.logfilters`); the access log shows at ``SFACAL_LOG_LEVEL=DEBUG``.
- It believes ``X-Forwarded-For`` and ``X-Forwarded-Proto`` only with ``SFACAL_BEHIND_PROXY`` on, and
  only from the addresses in ``SFACAL_TRUSTED_PROXIES``: otherwise the client address is the
  connection's peer, whatever the request's headers say (sign-in throttling counts by it).
"""

from __future__ import annotations

import logging
import threading
from argparse import ArgumentParser
from typing import Any

from huey.consumer import Consumer

from sfacal.web.logfilters import route_server_logs

logger = logging.getLogger(__name__)


class InProcessConsumer(Consumer):  # type: ignore[misc]
    """A Huey consumer that runs in threads of the web process.

    Huey's consumer installs signal handlers, which only the main thread may do;
    here the web server owns the signals and stops the consumer on shutdown.
    """

    def _set_signal_handlers(self) -> None:
        return None


DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_address_arguments(parser: ArgumentParser) -> None:
    """``--host`` and ``--port`` of the web server, their defaults shown in ``--help``."""
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to listen on (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port to listen on (default: %(default)s)"
    )


def start_worker(workers: int | None = None) -> InProcessConsumer:
    from django.conf import settings
    from huey.contrib.djhuey import HUEY

    huey_settings: dict[str, Any] = settings.HUEY
    options: dict[str, Any] = dict(huey_settings.get("consumer") or {})
    if workers is not None:
        options["workers"] = workers
    options["worker_type"] = "thread"
    consumer = InProcessConsumer(HUEY, **options)
    consumer.start()
    logger.info("in-process worker started with %s threads", options.get("workers", 1))
    return consumer


def stop_worker(consumer: InProcessConsumer) -> None:
    consumer.stop(graceful=True)


def asgi_app() -> Any:
    from django.conf import settings
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    from sfacal.web.asgi import application

    if settings.STATIC_URL:
        return ASGIStaticFilesHandler(application)
    return application


def server_config(host: str, port: int) -> Any:
    """The uvicorn configuration of the web server (see the module's guarantees)."""
    import uvicorn
    from django.conf import settings

    security = settings.WEB_SECURITY
    config = uvicorn.Config(
        asgi_app(),
        host=host,
        port=port,
        log_config=None,  # logging is the product's (settings.LOGGING), levels included
        log_level=None,
        lifespan="off",
        proxy_headers=security.behind_proxy,
        forwarded_allow_ips=list(security.trusted_proxies),
        server_header=False,
    )
    route_server_logs()
    return config


def run_web(host: str, port: int, *, on_started: threading.Event | None = None) -> None:
    import uvicorn

    server = uvicorn.Server(server_config(host, port))
    if on_started is not None:
        original = server.startup

        async def startup(sockets: Any = None) -> None:
            await original(sockets=sockets)
            on_started.set()

        server.startup = startup  # type: ignore[method-assign]
    server.run()
