"""One request path. The CLI, the UI, the REST API and jobs describe a short as the same plain dict (a spec,
with files named by asset id when hosted); ``request_of`` turns it into a ShortRequest and ``check`` runs every
check in one place, before any quota is spent: consent, safety mode, profile, platform ranges, media count
and names. No front end keeps its own copy of a default: they come from ShortRequest."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from models.errors import InvalidRequest, Remedy
from pipelines.short import MAX_PHOTOS, ShortPlan
from pipelines.types import ShortRequest

_DEFAULTS = {f.name: f.default for f in fields(ShortRequest)}
SCALARS = ("topic", "script", "platform", "duration", "voice", "template", "language", "profile", "seed", "safety",
           "strict", "voice_consent")


def no_consent() -> InvalidRequest:
    return InvalidRequest("Cloning a voice needs the consent of the person whose voice it is.",
                          "Confirm that they agreed.", Remedy("set_field", field="voice_consent", value=True))


def spec_of(request: ShortRequest, asset_ids: list[str] | tuple[str, ...] = (),
            voice_sample_asset_id: str | None = None, music_asset_id: str | None = None) -> dict[str, Any]:
    """A request as stored with its job: its files named by asset id (``request_of`` reverses it)."""
    return {**{k: getattr(request, k) for k in SCALARS}, "models": list(request.models),
            "asset_ids": list(asset_ids), "voice_sample_asset_id": voice_sample_asset_id,
            "music_asset_id": music_asset_id}


def request_of(spec: dict[str, Any], media: tuple[Path, ...] = (), voice_sample: Path | None = None,
               music: Path | None = None) -> ShortRequest:
    """A spec (missing keys take ShortRequest's defaults) with its files resolved to paths."""
    values = {k: spec[k] for k in SCALARS if spec.get(k) is not None}
    values.setdefault("duration", spec.get("duration"))
    return ShortRequest(**values, models=tuple(spec.get("models") or ()), media=tuple(media),
                        voice_sample=voice_sample, music=music)


def check(studio, spec: dict[str, Any], media: tuple[Path, ...] = (), voice_sample: Path | None = None,
          music: Path | None = None) -> ShortPlan:
    """Every check a request gets, before it costs anything. ``media``/``voice_sample`` are the files when they
    are at hand; a spec that names them by asset id is checked for consent and count here, and the files
    themselves when the job fetches them."""
    names_sample = voice_sample is not None or bool(spec.get("voice_sample_asset_id"))
    if names_sample and not spec.get("voice_consent"):
        raise no_consent()
    count = len(media) or len(spec.get("asset_ids") or ())
    if count > MAX_PHOTOS:
        raise InvalidRequest(f"{count} photos were given; a short takes at most {MAX_PHOTOS}.",
                             "Pick the photos that matter most.")
    return studio.plan(request_of(spec, media, voice_sample, music))


assert set(SCALARS) <= set(_DEFAULTS)  # noqa: S101 - a renamed field must be renamed here too
