"""The ``sfacal`` command: a thin wrapper over the Django management commands.

``sfacal <command> [options]``; ``sfacal <command> --help`` for a command's options.
"""

from __future__ import annotations

import os
import sys

# sfacal name → Django management command
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "web server + worker + scheduler in one process (embedded default; --demo)"),
    "web": ("web", "only the web server (--host, --port)"),
    "worker": ("worker", "only a worker process (run several to scale out)"),
    "migrate": ("migrate", "create or upgrade the database schema"),
    "createadmin": ("createadmin", "create a super-administrator or a company administrator"),
    "check": ("check_setup", "check the configuration and say what is wrong"),
    "emulate": ("emulate", "run a built-in emulator: `sfacal emulate m365|justsfa --port N`"),
    "import": ("import_csv", "import CSV: `sfacal import employees|schedules FILE [--dry-run]`"),
    "sync": ("sync_now", "sync now: `sfacal sync --company X [--employee Y]`"),
    "rotate-key": ("rotate_key", "re-encrypt stored secrets with the newest SFACAL_SECRET_KEY"),
    "manage": ("", "any Django management command (for operators)"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: sfacal <command> [options]",
        "",
        "Mirror SFA schedules into Microsoft 365 calendars.",
        "",
        "commands:",
    ]
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += [
        "",
        "environment: SFACAL_DATA_DIR (default ./data), DATABASE_URL, SFACAL_QUEUE_URL, SFACAL_SECRET_KEY",
        "`sfacal <command> --help` shows a command's options.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("--version", "version"):
        from sfacal import __version__

        print(__version__)
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"sfacal: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfacal.web.settings")
    from django.core.management import execute_from_command_line

    command = COMMANDS[name][0]
    argv_django = ["sfacal", *rest] if name == "manage" else ["sfacal", command, *rest]
    try:
        execute_from_command_line(argv_django)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
