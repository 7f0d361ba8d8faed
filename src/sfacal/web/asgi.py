"""ASGI entry point (served by uvicorn in ``sfacal serve``/``sfacal web``): Django's handler with
long-lived request threads (:mod:`sfacal.web.request_threads`)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfacal.web.settings")
django.setup(set_prefix=False)

from sfacal.web.request_threads import PooledThreadsASGIHandler  # noqa: E402 - needs Django set up

application = PooledThreadsASGIHandler()
