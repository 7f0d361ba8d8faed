from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectionsConfig(AppConfig):
    name = "sfacal.directory.connections"
    label = "connections"
    verbose_name = _("SFA connections")
