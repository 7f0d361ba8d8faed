from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngineConfig(AppConfig):
    name = "sfacal.engine"
    label = "engine"
    verbose_name = _("Sync engine")
