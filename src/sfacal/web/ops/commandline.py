"""Running a management command as ``sfacal <name>``: Django's commands as an operator sees them.

Guarantees:

- Help and usage name the command as the operator types it (``usage: sfacal check ...``), never by
  its internal module name (``check_setup``).
- Django's base options that mean nothing to an operator are accepted but not shown: ``--settings``,
  ``--pythonpath``, ``--traceback``, ``--no-color``, ``--force-color``, ``--skip-checks``, ``--version``
  (Django's version, not sfacal's), and ``-v/--verbosity`` except for the commands whose output it
  changes (:data:`VERBOSE_COMMANDS`).
- The run speaks one language (:mod:`sfacal.web.ops.language`).
- One-shot commands (all but the long-running :data:`SERVICE_COMMANDS`) print their own report only:
  the service's INFO log lines are held back unless ``SFACAL_LOG_LEVEL`` is set; warnings still show.
- A :class:`CommandError` is one line on stderr, ``sfacal <name>: <message>``, and its exit status.
- Any other failure is one line too (its type and message; no traceback) with exit status 1, unless
  the operator asked for the traceback with ``--traceback``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TextIO

from django.core.management import get_commands, load_command_class
from django.core.management.base import BaseCommand, CommandError, CommandParser, SystemCheckError
from django.db import connections
from django.utils.translation import gettext as _

HIDDEN_OPTIONS = frozenset(
    {"--settings", "--pythonpath", "--traceback", "--no-color", "--force-color", "--skip-checks", "--version"}
)
VERBOSITY = frozenset({"-v", "--verbosity"})
VERBOSE_COMMANDS = frozenset({"migrate"})
"""Django command names whose output ``--verbosity`` changes (its option stays visible)."""
SERVICE_COMMANDS = frozenset({"serve", "web", "worker", "emulate"})
"""Django command names that run until stopped and log as the service does."""


def load(django_name: str) -> BaseCommand:
    return load_command_class(get_commands()[django_name], django_name)


def operator_parser(command: BaseCommand, name: str, django_name: str) -> CommandParser:
    """The command's parser with ``sfacal <name>`` as its program and the operator's options only."""
    hidden = HIDDEN_OPTIONS if django_name in VERBOSE_COMMANDS else HIDDEN_OPTIONS | VERBOSITY
    parser = command.create_parser("sfacal", name)
    for action in parser._actions:
        if hidden.intersection(action.option_strings):
            action.help = argparse.SUPPRESS
    return parser


def print_help(name: str, django_name: str, file: TextIO | None = None) -> None:
    command = load(django_name)
    operator_parser(command, name, django_name).print_help(file)


def run(name: str, django_name: str, argv: list[str]) -> int:
    """Run ``sfacal <name> <argv...>``; the exit status."""
    command = load(django_name)
    # argparse errors exit with the usage, as on a command line (Django's own flag for it)
    command._called_from_command_line = True  # type: ignore[attr-defined]
    options = vars(operator_parser(command, name, django_name).parse_args(argv))
    args = options.pop("args", ())
    root = logging.getLogger()
    level = root.level
    if django_name not in SERVICE_COMMANDS and not os.environ.get("SFACAL_LOG_LEVEL"):
        root.setLevel(max(level, logging.WARNING))
    try:
        command.execute(*args, **options)
    except SystemCheckError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.returncode
    except CommandError as exc:
        if options.get("traceback"):
            raise
        sys.stderr.write(f"sfacal {name}: {exc}\n")
        return exc.returncode
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if options.get("traceback"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        text = _("failed unexpectedly: %(error)s (run it again with --traceback to see where)")
        sys.stderr.write(f"sfacal {name}: {text % {'error': error}}\n")
        return 1
    finally:
        root.setLevel(level)
        connections.close_all()
    return 0
