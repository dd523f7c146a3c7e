"""Failed credentials per address: after the limit, every credentialed entry point answers
that address 429 before looking at the credential, good or bad, until the window passes.

The test client's address is 127.0.0.1; tests/conftest.py forgets its failures before
each test.
"""

from __future__ import annotations

import secrets
import time

import jwt
import pytest
from rest_framework.test import APIClient

from media_core.upload_urls import upload_url
from tests.api.conftest import assert_problem, path_of
from tests.clips import random_bytes
from tests.factories import asset_from_file, upload_for

pytestmark = pytest.mark.django_db

BAD_KEY = "kino_sk_" + "x" * 43


@pytest.fixture(autouse=True)
def limit(settings):
    settings.CREDENTIAL_FAILURE_LIMIT = 3
    return 3


def bearer(secret: str, **extra) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def good_key(make_key, environment) -> str:
    return make_key(environment)[1]


def assert_refused(response) -> dict:
    body = assert_problem(response, 429, "too_many_failed_credentials")
    assert 1 <= int(response["Retry-After"]) <= 300
    return body


# --- API keys ------------------------------------------------------------------------
def test_an_address_sending_bad_keys_is_refused_after_the_limit_even_with_a_good_key(
        environment, make_key, limit):
    answers = [bearer(BAD_KEY).get("/api/v1/assets") for _ in range(limit)]

    further_guess = bearer(BAD_KEY).get("/api/v1/assets")
    good = bearer(good_key(make_key, environment)).get("/api/v1/assets")

    assert [a.status_code for a in answers] == [401] * limit
    assert_refused(further_guess)
    body = assert_refused(good)
    assert "failed credentials" in body["detail"]


def test_another_address_is_not_refused(environment, make_key, limit):
    secret = good_key(make_key, environment)
    for _ in range(limit):
        bearer(BAD_KEY).get("/api/v1/assets")
    assert_refused(bearer(secret).get("/api/v1/assets"))

    elsewhere = bearer(secret, REMOTE_ADDR="192.0.2.80")

    assert elsewhere.get("/api/v1/assets").status_code == 200


def test_malformed_authorization_headers_count_and_good_requests_do_not(
        environment, make_key, limit):
    client = bearer(good_key(make_key, environment))
    for _ in range(limit * 3):
        assert client.get("/api/v1/assets").status_code == 200
    malformed = APIClient()
    malformed.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    for _ in range(limit):
        assert malformed.get("/api/v1/assets").status_code == 401

    assert_refused(client.get("/api/v1/assets"))


def test_the_refusal_ends_when_the_window_passes(settings, environment, make_key, limit):
    settings.CREDENTIAL_FAILURE_WINDOW_SECONDS = 1
    client = bearer(good_key(make_key, environment))
    for _ in range(limit):
        bearer(BAD_KEY).get("/api/v1/assets")
    assert_refused(client.get("/api/v1/assets"))

    time.sleep(1.1)

    assert client.get("/api/v1/assets").status_code == 200


# --- playback tokens -----------------------------------------------------------------
@pytest.fixture
def signed(environment, tmp_path) -> str:
    """A signed playback ID (of an asset still preparing: tokens are checked first)."""
    asset = asset_from_file(environment, random_bytes(tmp_path / "clip.mp4"),
                            playback_policy=["signed"])
    return asset.playback_ids.get().id


@pytest.fixture
def signing_key(owner) -> dict:
    response = owner.post("/api/v1/signing-keys")
    assert response.status_code == 201, response.content
    return response.json()


def token(key: dict, playback_id: str, *, exp_in: int = 600) -> str:
    claims = {"sub": playback_id, "aud": "v", "exp": int(time.time()) + exp_in}
    return jwt.encode(claims, key["private_key"], algorithm="RS256", headers={"kid": key["id"]})


def forged(playback_id: str) -> str:
    return jwt.encode({"sub": playback_id, "aud": "v", "exp": int(time.time()) + 600},
                      secrets.token_hex(32), algorithm="HS256")


def test_an_address_sending_forged_playback_tokens_is_refused_after_the_limit(
        anonymous, signed, signing_key, limit):
    guesses = [anonymous.get(f"/v/{signed}.m3u8", {"token": tok})
               for tok in [forged(signed), "not-a-jwt", forged(signed)][:limit]]

    good = anonymous.get(f"/v/{signed}.m3u8", {"token": token(signing_key, signed)})
    embed = anonymous.get(f"/embed/{signed}", {"token": token(signing_key, signed)})
    thumbnail = anonymous.get(f"/v/{signed}/thumbnail.jpg", {"token": forged(signed)})

    assert [g.status_code for g in guesses] == [403] * limit
    assert_refused(good)
    assert embed.status_code == 429 and int(embed["Retry-After"]) >= 1
    assert b"Too many failed attempts" in embed.content
    assert_refused(thumbnail)


def test_expired_playback_tokens_do_not_count(anonymous, signed, signing_key, limit):
    def play(tok: str):
        return anonymous.get(f"/v/{signed}.m3u8", {"token": tok})

    for _ in range(limit * 2):
        assert play(token(signing_key, signed, exp_in=-120)).json()["code"] == "token_expired"
    for _ in range(limit - 1):
        assert play(forged(signed)).status_code == 403

    # Past the token check (the asset is still preparing): the expired ones did not count.
    assert play(token(signing_key, signed)).json()["code"] == "asset_not_ready"
    play(forged(signed))
    assert_refused(play(token(signing_key, signed)))


def test_a_public_playback_id_plays_for_a_refused_address(anonymous, environment, tmp_path,
                                                           limit):
    public = asset_from_file(environment, random_bytes(tmp_path / "public.mp4")
                             ).playback_ids.get().id
    for _ in range(limit):
        bearer(BAD_KEY).get("/api/v1/assets")
    assert_refused(bearer(BAD_KEY).get("/api/v1/assets"))

    response = anonymous.get(f"/v/{public}.m3u8")

    assert response.json()["code"] == "asset_not_ready"  # no credential, nothing refused


# --- upload URLs ---------------------------------------------------------------------
def test_an_address_sending_forged_upload_urls_is_refused_after_the_limit(
        anonymous, environment, limit):
    upload = upload_for(environment)
    real = path_of(upload_url(upload))
    guesses = [anonymous.generic("PUT", f"/upload/{upload.id}/{secrets.token_urlsafe(24)}",
                                 b"x", content_type="video/mp4") for _ in range(limit)]

    real_attempt = anonymous.generic("PUT", real, b"x", content_type="video/mp4")

    assert [g.status_code for g in guesses] == [404] * limit
    assert_refused(real_attempt)
    assert real_attempt["Tus-Resumable"] == "1.0.0"


def test_failures_at_every_entry_point_add_up(anonymous, environment, signed, limit):
    bearer(BAD_KEY).get("/api/v1/assets")
    anonymous.get(f"/v/{signed}.m3u8", {"token": forged(signed)})
    upload = upload_for(environment)
    anonymous.generic("PUT", f"/upload/{upload.id}/forged", b"x", content_type="video/mp4")

    assert_refused(bearer(BAD_KEY).get("/api/v1/assets"))
