import logging
import re
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from .context import current_caller, current_environment, current_request_id

# An upload URL's path carries its token, which is the authority to upload.
_UPLOAD_TOKEN = re.compile(r"(/upload/[^/\s]+/)[^/\s?\"']+")
# An ingest node's callback URL carries the shared ingest secret; a publish URL may
# carry a stream key as ?key=.
_INGEST_SECRET = re.compile(r"(/live/ingest/)[^/\s?\"']+(?=/)")
_STREAM_KEY = re.compile(r"([?&](?:key|relay|passphrase)=)[^&\s\"']+")
# A child URL's signature plays its asset until it expires, whoever holds it; the
# expiry stays readable. Playback JWTs travel as ?token= and ?thumbnail_token=.
_PATH_SIGNATURE = re.compile(r"(/v/[^/\s]+/s/[^/\s]*/)[^/\s?\"']+")
_PLAYBACK_TOKEN = re.compile(r"([?&](?:token|thumbnail_token)=)[^&\s\"']+")
_MARKERS = ("/upload/", "/live/ingest/", "key=", "relay=", "passphrase=", "/s/", "token=")


def redact(text: str) -> str:
    text = _UPLOAD_TOKEN.sub(r"\1[token]", text)
    text = _INGEST_SECRET.sub(r"\1[secret]", text)
    text = _PATH_SIGNATURE.sub(r"\1[signature]", text)
    text = _PLAYBACK_TOKEN.sub(r"\1[token]", text)
    return _STREAM_KEY.sub(r"\1[secret]", text)


class RequestIdFilter(logging.Filter):
    """Stamp every log record with the request (or task) id it belongs to, the
    environment and the caller; a record that names them itself (`extra`) keeps its own.
    None when unknown (an empty request id, as rows store it, too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = record.__dict__
        fields["request_id"] = fields.get("request_id") or current_request_id() or None
        fields["environment"] = fields.get("environment") or current_environment()
        fields["caller"] = fields.get("caller") or current_caller()
        return True


class RedactSecretsFilter(logging.Filter):
    """Keep credentials that travel in URLs out of every log line, whoever logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(marker in message for marker in _MARKERS):
            record.msg, record.args = redact(message), ()
        return True


class PlainFormatter(logging.Formatter):
    """LOG_FORMAT=plain: one readable line, the request id in brackets."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.__dict__.get("request_id") is not None:
            return super().format(record)
        # Shown as "-", left None for any other handler the record goes to.
        record.request_id = "-"
        try:
            return super().format(record)
        finally:
            record.request_id = None

    # A traceback quotes the URLs and arguments it went through.
    def formatException(self, ei) -> str:  # noqa: N802 - logging's naming
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's naming
        return redact(super().formatStack(stack_info))


# Django attaches the request object to its records; its path is in the message already.
_NOT_DATA = frozenset({"request"})


def _redacted(value):
    if isinstance(value, str):
        return redact(value) if any(marker in value for marker in _MARKERS) else value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redacted(item) for item in value]
    return _redacted(str(value))  # an object's text may quote a URL as well


class JsonFormatter(_JsonFormatter):
    """LOG_FORMAT=json: one object a line. Always time, level, logger, message,
    request_id, environment and caller; then what the record adds (`extra`: object ids,
    a transition), and the traceback as exc_info. Every text in it is redacted."""

    FIELDS = ("levelname", "name", "message", "request_id", "environment", "caller")

    def __init__(self):
        super().__init__(list(self.FIELDS), rename_fields={"levelname": "level", "name": "logger"},
                         json_ensure_ascii=False)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        log_data["time"] = datetime.fromtimestamp(record.created, tz=UTC).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")
        super().add_fields(log_data, record, message_dict)

    def process_log_record(self, log_data: dict) -> dict:
        return {key: _redacted(value) for key, value in log_data.items() if key not in _NOT_DATA}
