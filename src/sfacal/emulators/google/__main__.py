"""``python -m sfacal.emulators.google --port N [--host H] [--data-dir DIR] [--knobs JSON]``."""

from __future__ import annotations

import argparse
import json
import sys

from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sfacal.emulators.google", description="Google Calendar (Workspace) emulator over TLS"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8444)
    parser.add_argument("--data-dir", default=".sfacal-emulator", help="where the CA (ca.pem) lives")
    parser.add_argument(
        "--knobs", default=None, help="JSON object of knobs, e.g. '{\"user_rate_limit\": 10}'"
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    knobs = json.loads(args.knobs) if args.knobs else None
    print(f"Google emulator on https://{args.host}:{args.port} (CA: {args.data_dir}/ca.pem)", file=sys.stderr)
    serve(args.host, args.port, args.data_dir, knobs=knobs, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
