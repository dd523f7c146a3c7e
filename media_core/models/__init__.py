from .assets import Asset, PlaybackID, Rendition
from .jobs import ProcessingJob
from .uploads import Upload

__all__ = [
    "Asset", "PlaybackID", "Rendition", "ProcessingJob",
    "Upload",
]
