import logging
import re

from .context import current_request_id

# An upload URL's path carries its token, which is the authority to upload.
_UPLOAD_TOKEN = re.compile(r"(/upload/[^/\s]+/)[^/\s?\"']+")


def redact(text: str) -> str:
    return _UPLOAD_TOKEN.sub(r"\1[token]", text)


class RequestIdFilter(logging.Filter):
    """Stamp every log record with the request (or task) id it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class RedactSecretsFilter(logging.Filter):
    """Keep credentials that travel in URLs out of every log line, whoever logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/upload/" in message:
            record.msg, record.args = redact(message), ()
        return True
