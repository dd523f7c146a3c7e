from .accounts import SCOPES, ApiKey, Environment
from .assets import Asset, PlaybackID, Rendition
from .jobs import ProcessingJob
from .uploads import Upload

__all__ = [
    "SCOPES", "ApiKey", "Environment", "Asset", "PlaybackID", "Rendition", "ProcessingJob",
    "Upload",
]
