from .assets import Asset, PlaybackID, Rendition
from .downloads import StaticRendition
from .jobs import ProcessingJob
from .tracks import TextTrack
from .uploads import Upload

__all__ = [
    "Asset", "PlaybackID", "Rendition", "ProcessingJob",
    "StaticRendition", "TextTrack", "Upload",
]
