"""ASGI entry point (served by uvicorn in ``sfacal serve``/``sfacal web``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfacal.web.settings")
application = get_asgi_application()
