"""Structured logs for production: one JSON object per line on standard output.

Patient data never reaches a log line. The formatter writes a fixed set of
fields (a whitelist), never a record's `extra` attributes: Django's
django.request logger attaches the request (whose repr holds the query string,
e.g. a patient search ?q=...) and gunicorn's access logger passes the request
line, the query string and the referrer. Exceptions keep their type and stack
(file, line, function) but not their message, which can quote a row
(an IntegrityError's "Key (clinic_id, code)=(..., SYN-001) already exists").
Paths hold opaque UUIDs only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback

# gunicorn access log atoms kept (see gunicorn.glogging): method, path without
# the query string, status, response bytes, duration in ms.
ACCESS_FIELDS = {"m": "method", "U": "path", "s": "status", "B": "bytes", "M": "duration_ms"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            entry["message"] = "request"
            for atom, name in ACCESS_FIELDS.items():
                value = record.args.get(atom)
                entry[name] = int(value) if isinstance(value, str) and value.isdigit() else value
        else:
            entry["message"] = record.getMessage()
        status = getattr(record, "status_code", None)
        if isinstance(status, int):
            entry["status"] = status
        if record.exc_info and record.exc_info[0] is not None:
            kind, _value, tb = record.exc_info
            entry["exception"] = kind.__name__
            entry["stack"] = [
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in traceback.extract_tb(tb)
            ]
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(*, structured: bool, level: str = "INFO") -> dict:
    """The LOGGING dict: JSON lines on stdout in production, plain text while debugging."""
    formatter = (
        {"()": "clinic.logs.JsonFormatter"}
        if structured
        else {"format": "%(levelname)s %(name)s %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "default",
            }
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Django's own loggers propagate to the root; no second handler.
            "django": {"handlers": [], "level": level, "propagate": True},
            # django.server logs runserver's request lines WITH the query string.
            "django.server": {"handlers": [], "level": "ERROR", "propagate": True},
            "django.db.backends": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }
