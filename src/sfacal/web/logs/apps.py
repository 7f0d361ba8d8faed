from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogsConfig(AppConfig):
    name = "sfacal.web.logs"
    label = "logs"
    verbose_name = _("Sync log")
