"""A content-addressed cache for everything derived (voice, stills, music).

The key hashes the engine's name, its settings and the inputs, so changing one
scene's text re-does that scene only, and changing the engine or voice re-does
every result it affects.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any


def key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, stage: str, digest: str, suffix: str) -> Path:
        return self.root / stage / digest[:2] / f"{digest}{suffix}"

    def file(self, stage: str, digest: str, suffix: str, make: Callable[[Path], Any]) -> tuple[Path, Any, bool]:
        """Return (path, meta, was_cached).

        On a miss ``make(tmp_path)`` writes the file and may return JSON-able metadata (kept beside it);
        the file is published atomically, so a crash never leaves a half-written entry behind.
        """
        final = self.path(stage, digest, suffix)
        side = final.with_suffix(final.suffix + ".json")
        if final.exists() and side.exists():
            return final, json.loads(side.read_text(encoding="utf-8")), True
        final.parent.mkdir(parents=True, exist_ok=True)
        # unique per call, not per process: two threads making the same entry must not share a temporary file
        tmp = final.with_name(f".{final.stem}.{uuid.uuid4().hex}.tmp{suffix}")
        try:
            meta = make(tmp)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        side_tmp = side.with_name(f".{side.name}.{uuid.uuid4().hex}.tmp")
        side_tmp.write_text(json.dumps(meta if isinstance(meta, dict) else None, ensure_ascii=False), "utf-8")
        os.replace(side_tmp, side)
        return final, meta, False
