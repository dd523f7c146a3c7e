import logging
import re

from .context import current_request_id

# An upload URL's path carries its token, which is the authority to upload.
_UPLOAD_TOKEN = re.compile(r"(/upload/[^/\s]+/)[^/\s?\"']+")
# An ingest node's callback URL carries the shared ingest secret; a publish URL may
# carry a stream key as ?key=.
_INGEST_SECRET = re.compile(r"(/live/ingest/)[^/\s?\"']+")
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
    """Stamp every log record with the request (or task) id it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class RedactSecretsFilter(logging.Filter):
    """Keep credentials that travel in URLs out of every log line, whoever logs it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(marker in message for marker in _MARKERS):
            record.msg, record.args = redact(message), ()
        return True
