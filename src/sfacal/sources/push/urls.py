"""URLs of the push API (mounted under /api/v1/): the django-ninja API of :mod:`.api`."""

from __future__ import annotations

from django.urls import URLResolver, path

from sfacal.sources.push.api import api

urlpatterns: list[URLResolver] = [path("", api.urls)]
