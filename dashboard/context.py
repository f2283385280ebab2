"""The app context of the request's app: what create_app bound in `server.extensions["aqi"]`."""
from __future__ import annotations

from flask import current_app

from core.context import Context
from core.settings import Settings

EXTENSION = "aqi"


def current() -> Context:
    return current_app.extensions[EXTENSION]


def settings() -> Settings:
    return current().settings
