"""Child URLs (/v/{pbk}/s/{expires}/{signature}/…): how far ahead they may reach, and
that their signature never reaches a log line."""

from __future__ import annotations

import logging
import time

import pytest

from foundation.logging import RequestIdFilter, redact
from playback import path_tokens
from tests.clips import make_clip
from tests.factories import asset_from_file

DAY = 24 * 3600
LIVE_PREFIX = "live/live/lvs_" + "0" * 26


@pytest.fixture
def signed_asset(environment, sync_tasks, tmp_path):
    asset = asset_from_file(environment, make_clip(tmp_path / "clip.mp4"), playback_policy=["signed"])
    assert asset.status == "ready"
    return asset


def child_playlist(asset, expires: int) -> str:
    """A child playlist URL signed with the platform's own secret, as a forger who had it would."""
    playback_id = asset.playback_ids.get().id
    rendition = asset.renditions.order_by("name").first().name
    base = path_tokens.child_base(playback_id=playback_id, prefix=asset.media_prefix, expires=expires)
    return f"{base}/{rendition}/index.m3u8"


def test_a_child_url_within_the_day_plays(anonymous, signed_asset):
    response = anonymous.get(child_playlist(signed_asset, int(time.time()) + DAY - 60))

    assert response.status_code == 200


def test_a_forged_child_url_reaching_30_days_ahead_is_refused(anonymous, signed_asset):
    response = anonymous.get(child_playlist(signed_asset, int(time.time()) + 30 * DAY))

    assert (response.status_code, response.json()["code"]) == (403, "path_token_invalid")


@pytest.mark.django_db
def test_a_forged_live_child_url_reaching_30_days_ahead_is_refused(anonymous):
    base = path_tokens.child_base(playback_id="pbk_" + "1" * 26, prefix=LIVE_PREFIX,
                                  expires=int(time.time()) + 30 * DAY)

    response = anonymous.get(f"{base}/index.m3u8")

    assert (response.status_code, response.json()["code"]) == (403, "path_token_invalid")


def test_a_token_may_reach_a_day_ahead_and_a_few_minutes_of_clock_skew_but_no_more():
    def valid(expires: int) -> bool:
        sig = path_tokens.signature(playback_id="pbk_x", prefix="p", expires=expires)
        return path_tokens.valid(playback_id="pbk_x", prefix="p", expires=str(expires), sig=sig)

    now = int(time.time())
    assert valid(now + path_tokens.MAX_SECONDS + 60)
    assert not valid(now + path_tokens.MAX_SECONDS + 3600)
    assert not valid(now - 5)


# --- logs -------------------------------------------------------------------------------
@pytest.fixture
def server_log(caplog):
    """caplog on 'kino.request', filtered like the server's own console lines."""
    console = next(h for h in logging.getLogger().handlers
                   if any(isinstance(f, RequestIdFilter) for f in h.filters))
    for log_filter in console.filters:
        caplog.handler.addFilter(log_filter)
    caplog.set_level(logging.INFO, logger="kino.request")
    return caplog


@pytest.mark.django_db
def test_the_request_log_line_of_a_child_url_does_not_carry_its_signature(anonymous, server_log):
    expires = int(time.time()) + 600
    base = path_tokens.child_base(playback_id="pbk_" + "2" * 26, prefix=LIVE_PREFIX, expires=expires)
    signature = base.split("/")[5]

    anonymous.get(f"{base}/index.m3u8", HTTP_X_REQUEST_ID="child-log")

    [line] = [r.getMessage() for r in server_log.records if r.request_id == "child-log"]
    assert f"/v/pbk_{'2' * 26}/s/{expires}/" in line and LIVE_PREFIX in line
    assert signature not in line


@pytest.mark.parametrize("line, secret", [
    ('"GET /v/pbk_0123456789abcdefghjkmnpqrs.m3u8?token=eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl HTTP/1.1" 403',
     "eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl"),
    ('"GET /embed/pbk_0123456789abcdefghjkmnpqrs?autoplay=1&token=eyJ.eyJ.sig-part HTTP/1.1" 200',
     "eyJ.eyJ.sig-part"),
    ('"GET /embed/pbk_0123?token=eyJ.a.b&thumbnail_token=eyJ.thumb.sig HTTP/1.1" 200',
     "eyJ.thumb.sig"),
    ('"GET /v/pbk_0123/thumbnail.jpg?width=320&token=eyJ.t.s HTTP/1.1" 403', "eyJ.t.s"),
    ("GET /v/pbk_0123/s/1900000000/AbCdEfGhIjKlMnOpQrStUv/assets/ast_0/job_0-1/360p/seg_00001.m4s 403",
     "AbCdEfGhIjKlMnOpQrStUv"),
])
def test_playback_tokens_in_urls_are_redacted(line, secret):
    redacted = redact(line)

    assert secret not in redacted
    assert "[token]" in redacted or "[signature]" in redacted
    assert "pbk_0123" in redacted

