from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngineConfig(AppConfig):
    name = "sfacal.engine"
    label = "engine"
    verbose_name = _("Sync engine")

    def ready(self) -> None:
        # The inbox starts queuing processing tasks on commit (S10).
        from sfacal.engine import tasks

        tasks.install()
