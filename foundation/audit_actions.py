"""The audit actions of tenancy: environments and API keys."""

from __future__ import annotations

from .audit import register_action

ENVIRONMENT_CREATED = register_action("environment.created", "An environment was created.")
ENVIRONMENT_UPDATED = register_action("environment.updated",
                                      "An environment's longest allowed video changed.")
API_KEY_CREATED = register_action("api_key.created", "An API key was created.")
API_KEY_REVOKED = register_action("api_key.revoked", "An API key was revoked.")
