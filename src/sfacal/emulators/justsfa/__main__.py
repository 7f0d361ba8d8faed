"""``python -m sfacal.emulators.justsfa --port N``: run the JUST.SFA emulator in the foreground."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .server import serve


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m sfacal.emulators.justsfa", description="JUST.SFA emulator (TLS)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8444)
    p.add_argument(
        "--data-dir", default=".data/emulators", help="where ca.pem / server.pem / server.key live"
    )
    p.add_argument("--demo-tenant", default=None, help="create this tenant with a standard schedule table")
    p.add_argument("--demo-api-key", default=None, help="fixed API key for the demo tenant")
    p.add_argument("--log-level", default="info")
    args = p.parse_args(argv)
    serve(
        args.host,
        args.port,
        args.data_dir,
        demo_tenant=args.demo_tenant,
        demo_api_key=args.demo_api_key,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
