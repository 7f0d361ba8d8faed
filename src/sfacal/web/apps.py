from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The screens' shared templates and static files (``web/templates``, ``web/static``)."""

    name = "sfacal.web"
    label = "web"
    verbose_name = _("Screens")
