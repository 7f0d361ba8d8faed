"""The language the ``sfacal`` command speaks to an operator: one language per run.

Guarantees:

- The language follows the operator's locale as POSIX programs do: the first non-empty of
  ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` decides. A locale that starts with ``ja`` (``ja_JP.UTF-8``,
  ``ja``) gives Japanese; anything else (``C``, ``C.UTF-8``, ``en_US.UTF-8``, nothing set) gives English.
- :func:`activate` makes that language Django's active translation for the whole run, so a command's
  own messages and everything it reports from elsewhere (password validators, role names, connection
  check results and their hints) come in that one language.
- ``--help`` text is English in every locale (argparse's own words are not translated).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def cli_language(environ: Mapping[str, str] | None = None) -> str:
    """``"ja"`` or ``"en"`` for the locale in ``environ`` (default: this process's environment)."""
    env = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def activate(environ: Mapping[str, str] | None = None) -> str:
    """Activate the run's language (Django must be set up); returns it."""
    from django.utils import translation

    language = cli_language(environ)
    translation.activate(language)
    return language
