"""URL configuration."""

from __future__ import annotations

from django.urls import include, path

from sfacal.web import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
]
