"""The ``sfacal`` command: the operator's commands, each a Django management command underneath.

``sfacal <command> [options]``; ``sfacal <command> --help`` (or ``sfacal help <command>``) shows a
command's options. How a command is run, and what its help shows, is
:mod:`sfacal.web.ops.commandline`; the language it speaks is :mod:`sfacal.web.ops.language`.
"""

from __future__ import annotations

import os
import sys

# sfacal name → (Django management command, one line for the command list)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "web server + worker + scheduler in one process (embedded default; --demo)"),
    "web": ("web", "only the web server (--host, --port)"),
    "worker": ("worker", "only a worker process (run several to scale out)"),
    "migrate": ("migrate", "create or upgrade the database schema"),
    "createadmin": ("createadmin", "create a super-administrator or a company administrator"),
    "check": ("check_setup", "check this installation (--connections: every company's connections too)"),
    "emulate": ("emulate", "run a built-in emulator: `sfacal emulate m365|google|justsfa --port N`"),
    "import": ("import_csv", "import CSV: `sfacal import employees|schedules FILE [--dry-run]`"),
    "sync": ("sync_now", "sync now: `sfacal sync --company X [--employee Y]`"),
    "rotate-key": ("rotate_key", "re-encrypt stored secrets with the newest SFACAL_SECRET_KEY"),
    "unlock": ("unlock", "lift a sign-in pause: `sfacal unlock NAME... | --address IP` (no arguments: list)"),
    "manage": ("", "any Django management command (for operators who know Django)"),
    "help": ("", "`sfacal help COMMAND` shows a command's options"),
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
        "`sfacal <command> --help` shows a command's options. Output is in Japanese when the locale",
        "(LC_ALL, LC_MESSAGES or LANG) is Japanese, otherwise in English.",
    ]
    return "\n".join(lines)


def _unknown(name: str) -> int:
    print(f"sfacal: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
    return 2


def _setup() -> str | None:
    """Set Django up; an error message of one line if the configuration is unusable."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfacal.web.settings")
    try:
        import django

        django.setup()
    except Exception as exc:  # a bad DATABASE_URL, an unreadable data directory...
        return f"sfacal: the configuration cannot be used: {exc}"
    return None


def _manage(rest: list[str]) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["sfacal manage", *rest])
    return 0


def _main(args: list[str]) -> int:
    if not args or args[0] in ("-h", "--help") or args == ["help"]:
        print(usage())
        return 0
    if args[0] in ("--version", "version"):
        from sfacal import __version__

        print(__version__)
        return 0
    name, rest = args[0], args[1:]
    if name == "help":
        name, rest = rest[0], ["--help"]
        if name == "help":
            print(usage())
            return 0
    if name not in COMMANDS or name == "help":
        return _unknown(name)
    from sfacal.config import PRIVATE_UMASK

    # Everything the service writes (database, queue, keys, emulator and demo files) is its own.
    os.umask(PRIVATE_UMASK)
    problem = _setup()
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    from sfacal.web.ops import commandline, language

    language.activate()
    if name == "manage":
        return _manage(["help"] if args[0] == "help" else rest)
    return commandline.run(name, COMMANDS[name][0], rest)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`sfacal --help | head`): no traceback, and none at exit either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
