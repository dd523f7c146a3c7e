"""Playback tokens: RS256 JWTs signed with a key the API issued.

Only RS256 is accepted (never `none`, never an HMAC made with the public key); `kid`
picks a key of the playback ID's own environment; `sub` must be the playback ID, `aud`
the kind of resource (v video, t thumbnail, g gif, s storyboard, d download); `exp` is
required, and `nbf`/`iat`, when present, may not be in the future (both with
LEEWAY_SECONDS of clock skew).
"""

from __future__ import annotations

from dataclasses import dataclass

import jwt

from media_core.models import PlaybackID

from .metrics import count_refusal, count_token
from .models import SigningKey

AUDIENCES = {"v": "video", "t": "thumbnail", "g": "gif", "s": "storyboard", "d": "download"}
LEEWAY_SECONDS = 30


# Tokens no key of the playback ID's environment signed: what a guesser sends, counted
# against its address (foundation/credential_failures.py). An expired token, or one signed
# for another resource, is a viewer's or an integrator's mistake and is not counted.
FORGED = frozenset({"malformed", "algorithm", "unknown_key", "signature"})


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str

    @property
    def forged(self) -> bool:
        return self.reason in FORGED


@dataclass(frozen=True)
class Grant:
    expires_at: int


def check(token: str | None, *, playback_id: PlaybackID, audience: str) -> Grant | Refusal:
    refusal = _check(token, playback_id=playback_id, audience=audience)
    if isinstance(refusal, Refusal):
        count_refusal(refusal.reason)
    if token:  # a request without a token had none checked
        count_token(accepted=not isinstance(refusal, Refusal))
    return refusal


def _check(token: str | None, *, playback_id: PlaybackID, audience: str) -> Grant | Refusal:
    if not token:
        return Refusal("missing", "This playback ID needs a signed token (?token=).")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        return Refusal("malformed", "The token is not a JWT.")
    if header.get("alg") != "RS256":
        return Refusal("algorithm", "Tokens must be signed with RS256.")
    key = SigningKey.objects.filter(pk=header.get("kid") or "",
                                    environment_id=playback_id.environment_id).first()
    if key is None:
        return Refusal("unknown_key", "The token's signing key does not exist or was deleted.")
    try:
        claims = jwt.decode(token, key.public_key, algorithms=["RS256"], audience=audience,
                            leeway=LEEWAY_SECONDS,
                            options={"require": ["exp", "sub", "aud"]})
    except jwt.ExpiredSignatureError:
        return Refusal("expired", "The token has expired.")
    except jwt.ImmatureSignatureError:
        # nbf (or iat) ahead of our clock by more than the leeway: a signer whose clock
        # runs fast, or a token made for later. Its signature may well be fine.
        return Refusal("not_yet_valid", "The token is not valid yet: its nbf (or iat) is in "
                                        "the future; check the signing server's clock.")
    except jwt.InvalidAudienceError:
        return Refusal("audience", f"The token is not for this kind of resource (aud must be "
                                   f"'{audience}').")
    except jwt.MissingRequiredClaimError as exc:
        return Refusal("claims", f"The token lacks the '{exc.claim}' claim.")
    except jwt.InvalidTokenError:
        return Refusal("signature", "The token's signature is not valid.")
    if claims.get("sub") != playback_id.id:
        return Refusal("subject", "The token is for another playback ID.")
    return Grant(expires_at=int(claims["exp"]))
