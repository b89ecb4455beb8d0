"""/api/voices: the voice presets, how each sounds on this studio (a cached sample) and its licence. Public: they
hold nothing of any account, and each sample is made once per preset and language."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from studio.api.deps import hosted
from studio.api.docs import errors
from studio.errors import NotFound

router = APIRouter(prefix="/api", tags=["voices"])


def _preview(request: Request, name: str, language: str):
    h = hosted(request)
    if name not in h.studio.settings.voices:
        raise NotFound(f"There is no voice preset {name!r}.", f"Choose one of: {', '.join(h.studio.settings.voices)}.",
                       code="voice_not_found")
    return h.studio.voice_preview(name, language)


@router.get("/voices", responses=errors(422))
def list_voices(request: Request, language: str = Query("en", max_length=8)) -> dict:
    """Every voice preset as this studio speaks it in ``language``: the engine and voice, its licence, any
    stand-in (a voice not downloaded yet), and where to hear it."""
    h = hosted(request)
    out = []
    for name, preset in h.studio.settings.voices.items():
        p = _preview(request, name, language)
        out.append({"name": name, "label": preset["label"], "engine": p.engine, "voice": p.voice,
                    "licence": p.licence, "notes": list(p.notes),
                    "sample": f"/api/voices/{name}/sample?language={language}&voice={p.voice}"})
    return {"language": language, "voices": out}


@router.get("/voices/{name}/sample", responses={**errors(404, 422), 200: {"content": {"audio/wav": {}}}})
def voice_sample(name: str, request: Request, language: str = Query("en", max_length=8),
                 voice: str = Query("", max_length=64, description="The voice the listing named (only keys caches: a "
                                    "voice pulled later gets a new address).")) -> FileResponse:
    """A few seconds of the preset's voice (WAV), made once and kept."""
    return FileResponse(_preview(request, name, language).path, media_type="audio/wav",
                        headers={"Cache-Control": "public, max-age=3600"})
