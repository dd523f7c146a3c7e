"""The media console: what editors and support staff see of assets, uploads and keys.

Nothing here writes a row itself. Forms and actions call the services, with the
signed-in user as the actor, so the admin leaves the same audit entries and events as
the API does.
"""

from . import accounts, assets, playback_ids, processing, tracks  # noqa: F401  (registers the ModelAdmins)
