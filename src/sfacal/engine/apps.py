from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngineConfig(AppConfig):
    name = "sfacal.engine"
    label = "engine"
    verbose_name = _("Sync engine")

    def ready(self) -> None:
        # The inbox starts queuing processing tasks on commit (S10).
        from sfacal.directory.employees import changes
        from sfacal.engine import memory, sync, tasks

        # Before the engine's threads start: they share two malloc arenas (see the module).
        memory.limit_arenas()
        tasks.install()
        # Every saved employee change gets the engine's side (E4, P3/S2, E2, P4, catch-up).
        changes.subscribe(sync.on_employee_settings_changed)
