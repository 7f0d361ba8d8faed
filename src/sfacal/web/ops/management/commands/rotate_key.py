"""``sfacal rotate-key``: re-encrypt every stored secret with the newest key.

Set ``SFACAL_SECRET_KEY=new,old`` (newest first), run this, then drop the old key. Refuses in one line,
naming ``sfacal migrate``, while the schema is behind.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils.translation import ngettext

from sfacal.directory import crypto
from sfacal.directory.fields import EncryptedBinaryField, EncryptedTextField
from sfacal.web.ops.schema import require_schema


class Command(BaseCommand):
    help = "Re-encrypt stored secrets with the first key of SFACAL_SECRET_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        require_schema()
        rotated = 0
        with transaction.atomic():
            for model in apps.get_models():
                fields = [
                    f
                    for f in model._meta.concrete_fields
                    if isinstance(f, EncryptedTextField | EncryptedBinaryField)
                ]
                if not fields:
                    continue
                names = [f.attname for f in fields]
                # values_list decrypts (with any configured key); update() encrypts with the newest.
                for pk, *values in model._default_manager.values_list("pk", *names).iterator():
                    updates = {
                        name: value
                        for name, value in zip(names, values, strict=True)
                        if value not in (None, "", b"")
                    }
                    if updates:
                        model._default_manager.filter(pk=pk).update(**updates)
                        rotated += len(updates)
        crypto.reset_key_cache()
        text = ngettext(
            "%(count)d stored secret re-encrypted with the newest key.",
            "%(count)d stored secrets re-encrypted with the newest key.",
            rotated,
        )
        self.stdout.write(self.style.SUCCESS(text % {"count": rotated}))
