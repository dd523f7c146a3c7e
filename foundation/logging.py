import logging

from .context import current_request_id


class RequestIdFilter(logging.Filter):
    """Stamp every log record with the request (or task) id it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True
