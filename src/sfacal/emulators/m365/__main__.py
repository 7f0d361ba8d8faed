"""``python -m sfacal.emulators.m365 --port N [--host H] [--data-dir DIR] [--latency-ms MS]``."""

from __future__ import annotations

import argparse
import json
import sys

from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sfacal.emulators.m365",
        description="Microsoft 365 (Graph + identity) emulator over TLS",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443)
    parser.add_argument(
        "--data-dir", default=".sfacal-emulator", help="where the CA (ca.pem) and server certificate live"
    )
    parser.add_argument("--latency-ms", type=float, default=None, help="latency added to each Graph request")
    parser.add_argument("--knobs", default=None, help="JSON object of knobs, e.g. '{\"rate_limit\": 100}'")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    knobs = json.loads(args.knobs) if args.knobs else None
    print(f"M365 emulator on https://{args.host}:{args.port} (CA: {args.data_dir}/ca.pem)", file=sys.stderr)
    serve(args.host, args.port, args.data_dir, args.latency_ms, knobs=knobs, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
