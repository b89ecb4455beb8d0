"""The offline still: a typographic card (models.stills.cards), the scene's key phrase set large over the
template's palette in a layout its seed picks, over a textured background so the camera move shows.
"""

from __future__ import annotations

from pathlib import Path

from models.base import StillsEngine
from models.stills.cards import render_card
from models.types import StillSpec


class ProceduralStills(StillsEngine):
    engine = "procedural"
    draws_text = True

    @property
    def settings(self) -> dict:
        return {"version": 2}  # 2: typographic cards (1: gradient and blurred blobs)

    def generate(self, spec: StillSpec, out_path: Path) -> Path:
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        render_card(spec).save(out_path, quality=92)
        return out_path
