"""Root URL configuration.

- ``hooks/justsfa/<token>``: JUST.SFA webhooks (``sfacal.sources.justsfa.urls``)
- ``healthz``, ``readyz``, ``metrics``: for load balancers and monitoring (``sfacal.web.health``,
  ``sfacal.web.metrics``)
- ``api/v1/``: the push API and its OpenAPI document (``sfacal.sources.push.urls``)
- everything else: the screens (sign-in, dashboard, settings, employees, JUST.SFA, log)
"""

from __future__ import annotations

from django.urls import include, path

from sfacal.web import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("hooks/justsfa/", include("sfacal.sources.justsfa.urls")),
    path("api/v1/", include("sfacal.sources.push.urls")),
    path("accounts/", include("sfacal.web.accounts.urls")),
    path("log/", include("sfacal.web.logs.urls")),
    path("", include("sfacal.web.companies.urls")),
    path("", include("sfacal.web.employees.urls")),
    path("", include("sfacal.web.connections.urls")),
    path("", include("sfacal.web.dashboard.urls")),
    path("", include("sfacal.web.explainer.urls")),
    path("", include("sfacal.web.audit.urls")),
]
