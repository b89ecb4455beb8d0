"""Viral AI Studio: topic, script or photos → post-ready vertical shorts, on your own hardware."""

from models.errors import StudioError
from pipelines.types import ShortRequest, ShortResult
from studio.core import Studio

__all__ = ["Studio", "ShortRequest", "ShortResult", "StudioError"]
