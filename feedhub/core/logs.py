"""One log format for the whole process (feedhub, uvicorn, Alembic, APScheduler), as text or
as one JSON object per line (FEEDHUB_LOG_JSON=true) for log collectors."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime

__all__ = ["RedactSecrets", "Throttled", "configure_logging", "redact"]

_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Query parameters that carry a secret: ClientLogin's password, output feeds' key, tokens.
_SECRETS = re.compile(
    r"([?&;](?:passwd|password|key|auth|token|t|sid|lsid|access_token)=)[^&;\s\"']*",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with the values of secret-bearing query parameters replaced by `***`."""
    return _SECRETS.sub(r"\1***", text)


class RedactSecrets(logging.Filter):
    """Every line of every logger (uvicorn's access log included: it writes the whole URL)
    leaves with its URLs' secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # malformed arguments: the formatter reports them, as ever
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class Throttled:
    """One log line per period, with how many events it stands for: for anything an
    anonymous client can trigger, so that an attack cannot flood the log."""

    def __init__(self, logger: logging.Logger, period: float = 10.0) -> None:
        self.logger = logger
        self.period = period
        self.pending = 0
        self.last = -period

    def log(self, message: str, *args: object, level: int = logging.WARNING) -> None:
        self.pending += 1
        now = time.monotonic()
        if now - self.last >= self.period:
            self.logger.log(
                level, message + " (%d in the last %.0f s)", *args, self.pending, self.period
            )
            self.pending = 0
            self.last = now


def configure_logging(level: str, as_json: bool, *, access_log: bool = False) -> None:
    """Replace the root handlers with one stderr handler; other libraries' loggers (uvicorn
    is started with log_config=None) propagate to it.

    `access_log` is decided here, not only by uvicorn's own `access_log=False`: a
    `--workers` worker runs this after uvicorn configured logging, and letting
    uvicorn.access propagate again would log every request whatever the setting (uvicorn's
    protocols log whenever that logger has a handler, its own or an ancestor's)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(_TEXT))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Every tick would be logged twice at INFO: keep APScheduler to warnings.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic lists its plugins at INFO when first imported (which a command now does
    # only when a migration may be due, after this setup): noise for our users.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx logs every request at INFO ("HTTP Request: GET …"): a `feeds add` printed it
    # among its answer, a server once per poll. Our fetch logs carry feed, URL and status.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = access_log or name != "uvicorn.access"
