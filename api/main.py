"""ASGI entry point for uvicorn workers: `uvicorn api.main:app`."""

from api.app import create_app, freeze_startup, warm_up
from core.config import get_settings
from core.logging import configure_logging

_settings = get_settings()
configure_logging(json_lines=_settings.log_json, level=_settings.log_level)
app = create_app()
warm_up(app)
freeze_startup()
