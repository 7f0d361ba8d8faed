"""Root URL configuration.

- ``hooks/justsfa/<token>``: JUST.SFA webhooks (``sfacal.sources.justsfa.urls``)
- ``api/v1/``: the push API and its OpenAPI document (``sfacal.sources.push.urls``)
- everything else: the screens
"""

from __future__ import annotations

from django.urls import include, path

from sfacal.web import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("hooks/justsfa/", include("sfacal.sources.justsfa.urls")),
    path("api/v1/", include("sfacal.sources.push.urls")),
]
