"""Playback's counts: tokens checked and requests refused, by reason (GET /metrics,
kino_playback_tokens_checked_total and kino_playback_refusals_total)."""

from __future__ import annotations

from foundation.metrics import PLAYBACK_REFUSALS, PLAYBACK_TOKENS

REASONS = ("missing", "malformed", "algorithm", "unknown_key", "expired", "not_yet_valid",
           "audience", "claims", "signature", "subject", "path_token", "origin")

for _reason in REASONS:
    PLAYBACK_REFUSALS.labels(_reason)  # each at 0 before its first count


def count_refusal(reason: str) -> None:
    PLAYBACK_REFUSALS.labels(reason if reason in REASONS else "other").inc()


def count_token(*, accepted: bool) -> None:
    PLAYBACK_TOKENS.labels("accepted" if accepted else "refused").inc()

