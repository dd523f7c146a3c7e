from __future__ import annotations

import logging

from foundation import ids
from foundation.logging import RedactSecretsFilter


def test_ids_made_in_a_burst_are_unique_and_in_creation_order():
    made = [ids.new_id("ast") for _ in range(20_000)]

    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(ids.kind_of(i) == "asset" and len(i) == 30 for i in made)


def test_an_id_tells_its_kind_and_nothing_else_passes():
    assert ids.kind_of(ids.new_id("pbk")) == "playback_id"
    assert ids.kind_of("pbk_123") is None
    assert ids.kind_of("zzz_" + "0" * 26) is None
    assert ids.looks_like(ids.new_id("evt"), "evt") and not ids.looks_like(ids.new_id("evt"), "ast")


def test_upload_tokens_never_reach_a_log_line():
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1,
                               "Internal Server Error: %s", ("/upload/upl_abc/SeCrEtToKeN",), None)
    RedactSecretsFilter().filter(record)

    assert record.getMessage() == "Internal Server Error: /upload/upl_abc/[token]"
