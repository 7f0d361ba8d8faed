"""URLs of the JUST.SFA source (mounted at ``hooks/justsfa/``): the webhook receiver (J2)."""

from __future__ import annotations

from django.urls import URLPattern, path

from .webhook import receive, unknown

app_name = "justsfa"

urlpatterns: list[URLPattern] = [
    path("<str:token>", receive, name="webhook"),
    path("<str:token>/", receive, name="webhook-slash"),
    path("", unknown),
    path("<path:rest>", unknown),
]
