"""Cursor lists: {"data": [...], "next_cursor": "..." | null}, newest first.

IDs sort by creation time (see foundation.ids), so the cursor is the last id seen,
made opaque; the next page is everything with a smaller id.
"""

from __future__ import annotations

import base64
import binascii

from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from foundation.errors import ValidationFailed
from foundation.ids import kind_of

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def _invalid_cursor() -> ValidationFailed:
    return ValidationFailed("The cursor is not one this API gave out.",
                            errors={"cursor": ["Invalid cursor."]})


def decode_cursor(cursor: str) -> str:
    # Strict decoding: the lenient default drops unknown characters, so any garbage
    # would decode to some string and silently page from there.
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        last_id = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise _invalid_cursor() from exc
    if kind_of(last_id) is None:
        raise _invalid_cursor()
    return last_id


def parse_limit(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be an integer from 1 to {MAX_LIMIT}.",
                               errors={"limit": [f"Must be an integer from 1 to {MAX_LIMIT}."]})
    return limit


class CursorPagination(BasePagination):
    def paginate_queryset(self, queryset, request, view=None):
        limit = parse_limit(request.query_params.get("limit"))
        cursor = request.query_params.get("cursor")
        queryset = queryset.order_by("-pk")
        if cursor:
            queryset = queryset.filter(pk__lt=decode_cursor(cursor))
        page = list(queryset[: limit + 1])
        self.next_cursor = encode_cursor(page[limit - 1].pk) if len(page) > limit else None
        return page[:limit]

    def get_paginated_response(self, data):
        return Response({"data": data, "next_cursor": self.next_cursor})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["data", "next_cursor"],
            "properties": {
                "data": schema,
                "next_cursor": {"type": "string", "nullable": True},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "limit", "in": "query", "required": False,
             "description": f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}).",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
            {"name": "cursor", "in": "query", "required": False,
             "description": "The next_cursor of the previous page.",
             "schema": {"type": "string"}},
        ]
