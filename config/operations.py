"""Operations settings: metrics, logs, usage metering and the production profile."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env


def operations_settings(*, var_dir: Path) -> dict[str, object]:
    # Every process of this machine (web workers, task workers, the ingest) writes its
    # metrics to files in this folder, and /metrics adds them up (prometheus-client's
    # multiprocess mode). It must be known before prometheus_client is first imported,
    # which is why settings put it in the environment. Starting the platform empties it.
    metrics_dir = Path(env("PROMETHEUS_MULTIPROC_DIR", str(var_dir / "metrics")))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    return {
        "METRICS_DIR": metrics_dir,
        # Set: GET /metrics wants "Authorization: Bearer <METRICS_TOKEN>".
        "METRICS_TOKEN": env("METRICS_TOKEN", ""),
        # Usage metering (foundation/usage/): the platform appends a line per delivery
        # response to DELIVERY_LOG; with nginx in front it writes none and nginx's access
        # log (NGINX_ACCESS_LOG, the same line format) is read instead.
        "DELIVERY_LOG": Path(env("DELIVERY_LOG", str(var_dir / "delivery.log"))),
        "NGINX_ACCESS_LOG": env("NGINX_ACCESS_LOG", ""),
        **logging_settings(),
    }


def logging_settings() -> dict[str, object]:
    """LOG_LEVEL, and LOG_FORMAT: plain (a readable line) or json (one object a line:
    request_id, environment, caller, object ids, transition). Both redact credentials."""
    level = env("LOG_LEVEL", "INFO")
    log_format = env("LOG_FORMAT", "plain")
    if log_format not in ("plain", "json"):
        raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {log_format!r}")
    return {"LOG_LEVEL": level, "LOG_FORMAT": log_format, "LOGGING": {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "foundation.logging.RequestIdFilter"},
            "redact": {"()": "foundation.logging.RedactSecretsFilter"},
        },
        "formatters": {
            "plain": {"()": "foundation.logging.PlainFormatter"},
            "json": {"()": "foundation.logging.JsonFormatter"},
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": log_format,
                        "filters": ["request_id", "redact"]}
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.server": {"level": "WARNING"}, "django.request": {"level": "ERROR"},
                    "daphne": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
    }}
