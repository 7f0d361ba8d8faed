"""URLs of the JUST.SFA source (the webhook receiver, J2)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
