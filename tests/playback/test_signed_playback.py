"""Signed playback: tokens made by PyJWT from a key the API issued."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from playback.metrics import REASONS
from tests.clips import make_clip
from tests.factories import asset_from_file
from tests.metrics import own_sample

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed(environment, sync_tasks, tmp_path):
    """A ready asset with a signed playback ID."""
    asset = asset_from_file(environment, make_clip(tmp_path / "clip.mp4"), playback_policy=["signed"])
    assert asset.status == "ready"
    return asset.playback_ids.get().id


@pytest.fixture
def key(owner):
    response = owner.post("/api/v1/signing-keys")
    assert response.status_code == 201
    return response.json()


def token(key, playback_id, *, aud="v", exp_in=600, **overrides):
    claims = {"sub": playback_id, "aud": aud, "exp": int(time.time()) + exp_in, **overrides}
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key["private_key"],
                      algorithm="RS256", headers={"kid": key["id"]})


def play(client, playback_id, tok):
    return client.get(f"/v/{playback_id}.m3u8", {"token": tok} if tok else {})


def children(client, master_text):
    """Fetch every child playlist and the first segment of each, as a player would."""
    statuses = []
    for line in master_text.splitlines():
        uri = line.split('URI="')[1].rstrip('"') if 'URI="' in line else line
        if uri.startswith("/v/"):
            child = client.get(uri)
            statuses.append(child.status_code)
            listing = b"".join(child.streaming_content if child.streaming else [child.content]).decode()
            base = uri.rsplit("/", 1)[0]
            segment = next(x for x in listing.splitlines() if x.endswith(".m4s"))
            statuses.append(client.get(f"{base}/{segment}").status_code)
    return statuses


def test_a_signed_playback_id_without_a_token_is_403(anonymous, signed):
    response = play(anonymous, signed, None)

    assert response.status_code == 403
    assert response.json()["code"] == "token_missing"


def test_a_valid_token_plays_the_master_and_everything_it_leads_to(anonymous, signed, key):
    response = play(anonymous, signed, token(key, signed))

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("private")
    statuses = children(anonymous, response.content.decode())
    assert statuses and set(statuses) == {200}


def test_an_expired_token_is_403(anonymous, signed, key):
    assert play(anonymous, signed, token(key, signed, exp_in=-120)).json()["code"] == "token_expired"


def test_a_token_a_few_seconds_past_expiry_still_plays_for_clock_skew(anonymous, signed, key):
    assert play(anonymous, signed, token(key, signed, exp_in=-10)).status_code == 200


def test_a_token_not_valid_yet_is_refused_as_such_not_as_a_bad_signature(anonymous, signed, key):
    response = play(anonymous, signed, token(key, signed, nbf=int(time.time()) + 600))

    assert (response.status_code, response.json()["code"]) == (403, "token_not_yet_valid")
    assert "not valid yet" in response.json()["detail"]


def test_a_token_issued_a_few_seconds_ahead_still_plays_for_clock_skew(anonymous, signed, key):
    early = int(time.time()) + 10
    assert play(anonymous, signed, token(key, signed, nbf=early, iat=early)).status_code == 200


def test_a_tampered_token_is_403(anonymous, signed, key):
    header, payload, sig = token(key, signed).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["exp"] += 86400
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    response = play(anonymous, signed, f"{header}.{forged}.{sig}")

    assert (response.status_code, response.json()["code"]) == (403, "token_signature")


def test_a_token_for_another_playback_id_is_403(anonymous, signed, key, environment, tmp_path):
    other = asset_from_file(environment, make_clip(tmp_path / "other.mp4"),
                            playback_policy=["signed"]).playback_ids.get().id

    response = play(anonymous, signed, token(key, other))

    assert (response.status_code, response.json()["code"]) == (403, "token_subject")


def test_a_token_for_thumbnails_does_not_play_video(anonymous, signed, key):
    response = play(anonymous, signed, token(key, signed, aud="t"))

    assert (response.status_code, response.json()["code"]) == (403, "token_audience")
    assert anonymous.get(f"/v/{signed}/thumbnail.jpg", {"token": token(key, signed, aud="t")}).status_code == 200


def test_an_unsigned_alg_none_token_is_403(anonymous, signed, key):
    unsigned = jwt.encode({"sub": signed, "aud": "v", "exp": int(time.time()) + 600}, None,
                          algorithm="none", headers={"kid": key["id"]})

    response = play(anonymous, signed, unsigned)

    assert (response.status_code, response.json()["code"]) == (403, "token_algorithm")


def test_an_hs256_token_made_with_the_public_key_is_403(anonymous, signed, key):
    header = base64.urlsafe_b64encode(json.dumps(
        {"alg": "HS256", "typ": "JWT", "kid": key["id"]}).encode()).decode().rstrip("=")
    payload = base64.urlsafe_b64encode(json.dumps(
        {"sub": signed, "aud": "v", "exp": int(time.time()) + 600}).encode()).decode().rstrip("=")
    import hashlib
    import hmac
    mac = hmac.new(key["public_key"].encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    forged = f"{header}.{payload}.{base64.urlsafe_b64encode(mac.digest()).decode().rstrip('=')}"

    response = play(anonymous, signed, forged)

    assert (response.status_code, response.json()["code"]) == (403, "token_algorithm")


def test_a_token_of_a_deleted_key_is_403(anonymous, owner, signed, key):
    good = token(key, signed)
    assert play(anonymous, signed, good).status_code == 200

    assert owner.delete(f"/api/v1/signing-keys/{key['id']}").status_code == 204

    assert play(anonymous, signed, good).json()["code"] == "token_unknown_key"


def test_a_token_signed_by_a_stranger_with_a_real_kid_is_403(anonymous, signed, key):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()

    response = play(anonymous, signed, token({**key, "private_key": stranger}, signed))

    assert response.json()["code"] == "token_signature"


def test_a_key_of_another_environment_does_not_sign_for_this_one(anonymous, outsider, signed):
    foreign = outsider.post("/api/v1/signing-keys").json()

    assert play(anonymous, signed, token(foreign, signed)).json()["code"] == "token_unknown_key"


def test_a_token_without_exp_is_403(anonymous, signed, key):
    claims = {"sub": signed, "aud": "v"}
    tok = jwt.encode(claims, key["private_key"], algorithm="RS256", headers={"kid": key["id"]})

    assert play(anonymous, signed, tok).json()["code"] == "token_claims"


def refusal_counts() -> dict[str, float]:
    return {r: own_sample("kino_playback_refusals_total", reason=r) for r in REASONS}


def test_refusals_are_counted_by_reason(anonymous, signed, key):
    before = refusal_counts()

    play(anonymous, signed, None)
    play(anonymous, signed, token(key, signed, exp_in=-120))
    play(anonymous, signed, token(key, signed, nbf=int(time.time()) + 600))

    after = refusal_counts()
    assert after["missing"] == before["missing"] + 1
    assert after["expired"] == before["expired"] + 1
    assert after["not_yet_valid"] == before["not_yet_valid"] + 1
    assert after["signature"] == before["signature"]


def test_several_keys_sign_at_once_for_rotation(anonymous, owner, signed, key):
    second = owner.post("/api/v1/signing-keys").json()

    assert play(anonymous, signed, token(key, signed)).status_code == 200
    assert play(anonymous, signed, token(second, signed)).status_code == 200


def test_a_child_url_with_an_altered_path_token_is_403(anonymous, signed, key):
    master = play(anonymous, signed, token(key, signed)).content.decode()
    child = next(line for line in master.splitlines() if line.startswith("/v/"))
    parts = child.split("/")
    parts[5] = parts[5][:-2] + ("AA" if not parts[5].endswith("AA") else "BB")

    response = anonymous.get("/".join(parts))

    assert (response.status_code, response.json()["code"]) == (403, "path_token_invalid")


def test_a_child_url_never_opens_another_playback_id(anonymous, signed, key, environment, tmp_path):
    other = asset_from_file(environment, make_clip(tmp_path / "o.mp4"), playback_policy=["public"])
    master = play(anonymous, signed, token(key, signed)).content.decode()
    child = next(line for line in master.splitlines() if line.startswith("/v/"))
    # Same signature and expiry, another playback ID and its asset's files.
    parts = child.split("/")
    parts[2] = other.playback_ids.get().id
    parts[6:9] = other.media_prefix.split("/")

    assert anonymous.get("/".join(parts)).status_code == 403


def test_deleting_a_playback_id_stops_its_children_at_once(anonymous, owner, environment,
                                                          sync_tasks, tmp_path):
    asset = asset_from_file(environment, make_clip(tmp_path / "p.mp4"))
    playback_id = asset.playback_ids.get().id
    master = anonymous.get(f"/v/{playback_id}.m3u8").content.decode()
    child = next(line for line in master.splitlines() if line.startswith("/v/"))
    assert anonymous.get(child).status_code == 200

    owner.delete(f"/api/v1/assets/{asset.id}/playback-ids/{playback_id}")

    assert anonymous.get(child).status_code == 404


def test_the_private_key_is_returned_once_and_never_stored(owner, key):
    from playback.models import SigningKey

    stored = SigningKey.objects.get(pk=key["id"])
    shown = owner.get(f"/api/v1/signing-keys/{key['id']}").json()

    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert "private_key" not in shown
    assert "PRIVATE" not in stored.public_key
    assert [k["id"] for k in owner.get("/api/v1/signing-keys").json()["data"]] == [key["id"]]


def test_an_outsider_cannot_see_or_delete_a_key(outsider, key):
    assert outsider.get(f"/api/v1/signing-keys/{key['id']}").status_code == 404
    assert outsider.delete(f"/api/v1/signing-keys/{key['id']}").status_code == 404
