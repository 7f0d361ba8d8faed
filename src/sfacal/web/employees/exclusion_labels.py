"""How the P3 pseudo-entries 未選択 and マスタ設定値以外 are shown.

* The stored values stay the constants of :mod:`sfacal.core.settings` (``UNSELECTED``,
  ``OUTSIDE_MASTER``): the policy matches them, every employee's exclusion list and the log lines'
  parameters hold them, whatever the language of the screen that saved them.
* On screen they are shown in the reader's language (:func:`exclusion_label`), between asterisks
  as the first manual shows them; any other value (a master entry) is shown as it is.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sfacal.core.settings import OUTSIDE_MASTER, UNSELECTED

__all__ = ["PSEUDO_LABELS", "exclusion_label"]

PSEUDO_LABELS: dict[str, Promise] = {
    UNSELECTED: _("*None chosen*"),
    OUTSIDE_MASTER: _("*Not in the master*"),
}


def exclusion_label(value: str) -> str:
    """An excluded purpose or business name as the reader sees it."""
    label = PSEUDO_LABELS.get(value)
    return str(label) if label is not None else value
