"""Structured logging with a request id per request (plain text or JSON lines), and
the one place where secrets are taken out of every log line (`install_redaction`)."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from numbers import Number

from core.redact import redact

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None):
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key in ("method", "path", "status", "duration_ms", "user"):
            if hasattr(record, key):  # extras are set after the record factory ran
                value = getattr(record, key)
                payload[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            payload["exc"] = record.exc_text or redact(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False)


_base_factory = logging.getLogRecordFactory()


def _redacting_factory(*args, **kwargs) -> logging.LogRecord:
    """Every log record of the process, from any logger (ours, uvicorn's access and
    error logs, SQLAlchemy, a library's), is made here: its message, arguments and
    traceback are redacted before any handler or formatter sees them. The arguments
    stay arguments (uvicorn's access formatter unpacks them) but each string among
    them is redacted. A logger's level is checked before a record is made, so lines
    that are not logged cost nothing."""
    record = _base_factory(*args, **kwargs)
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    elif record.msg is not None and not isinstance(record.msg, Number):
        record.msg = redact(str(record.msg))
    if isinstance(record.args, tuple):
        record.args = tuple(redact(a) if isinstance(a, str) else
                            a if a is None or isinstance(a, Number) else _Redacted(a)
                            for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
    if record.exc_info and record.exc_info[0] is not None:
        # Rendered now (once), so that the handler prints the redacted text.
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    return record


class _Redacted:
    """An argument that is not a string, redacted when the message is rendered (%s, %r)."""

    __slots__ = ("value",)

    def __init__(self, value) -> None:
        self.value = value

    def __str__(self) -> str:
        return redact(str(self.value))

    def __repr__(self) -> str:
        return redact(repr(self.value))

    def __format__(self, spec: str) -> str:
        return redact(format(self.value, spec))


def install_redaction() -> None:
    """Make every log record of this process through `_redacting_factory` (idempotent)."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)


install_redaction()  # on import: any process that logs through this package is covered


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def _handler(json_lines: bool) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(PLAIN_FORMAT))
    return handler


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    install_redaction()
    root = logging.getLogger()
    root.handlers[:] = [_handler(json_lines)]
    root.setLevel(level.upper())
    # /readyz asks Alembic for the revision; its INFO lines would repeat every probe.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))


def uvicorn_log_config(*, json_lines: bool, level: str = "INFO") -> dict:
    """uvicorn's `log_config`: its own loggers (start-up and shut-down lines, errors, the
    access log), in the supervisor process as in each worker, printed by the same
    handler as every other line, so that with `POSYANDU_LOG_JSON=true` each line on
    stderr is a JSON object (uvicorn's default config would print its lines as text).
    As text, uvicorn's own format (no logger name: "uvicorn.error" on its start-up
    lines would read as an error)."""
    if not json_lines:
        from uvicorn.config import LOGGING_CONFIG
        return LOGGING_CONFIG
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"posyandu": {"()": "core.logging._handler", "json_lines": json_lines}},
        "loggers": {
            "uvicorn": {"handlers": ["posyandu"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},  # propagates to "uvicorn"
            "uvicorn.access": {"handlers": ["posyandu"], "level": level.upper(),
                               "propagate": False},
        },
    }
