from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "sfacal.web.ops"
    label = "ops"
    verbose_name = "Operations"
