"""Files a browser uploads to the UI, kept per owner until a short uses them.

Gradio hands an event whatever path the caller names, so the UI never trusts a path: every file an event receives
must be one that this owner uploaded through the studio's own upload route (typed by its bytes, held to the same
limits as ``POST /api/assets``). Layout: ``<root>/<owner key>/<random token>/<file name>``; the owner key is a hash,
so no user id ever becomes a path, and the token makes a path unguessable.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import time
from pathlib import Path

from studio.errors import NotFound


class UiUploads:
    def __init__(self, root: Path, *, ttl_s: int) -> None:
        self.root = Path(root)
        self.ttl_s = ttl_s

    def _owner_dir(self, owner: str) -> Path:
        return self.root / hashlib.sha256(owner.encode()).hexdigest()[:32]

    def keep(self, owner: str, path: Path, filename: str, ext: str) -> Path:
        """Take ownership of the checked temporary file ``path``; answer where it now lives. Its name keeps a tame
        part of the uploader's (for display) and the extension of the type read from its bytes, so a browser
        shown the file can only treat it as the image, video or audio it is."""
        stem = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(filename).stem).strip("-")[:60] or "upload"
        folder = self._owner_dir(owner) / secrets.token_hex(16)
        folder.mkdir(parents=True)
        dest = folder / f"{stem}.{ext}"
        os.replace(path, dest)
        return dest

    def used_bytes(self, owner: str) -> int:
        folder = self._owner_dir(owner)
        return sum(f.stat().st_size for f in folder.glob("*/*") if f.is_file()) if folder.is_dir() else 0

    def owned(self, owner: str, path: str | Path) -> Path:
        """``path`` if ``owner`` uploaded it and it is still here; NotFound otherwise (another user's upload, any
        other file on the server, a link that escapes the folder), before anything reads it."""
        mine = self._owner_dir(owner).resolve()
        try:
            real = Path(os.path.realpath(path))
        except (OSError, ValueError):
            real = None
        if real is None or not real.is_relative_to(mine) or len(real.relative_to(mine).parts) != 2 or not real.is_file():
            raise NotFound("That file was not uploaded here in this session (or it has expired).",
                           "Upload the file again.", code="upload_not_found")
        return real

    def is_upload(self, path: str | Path) -> bool:
        return Path(os.path.realpath(path)).is_relative_to(self.root.resolve())

    def release(self, path: Path) -> None:
        """Forget an upload once a short has taken it into storage."""
        shutil.rmtree(Path(path).parent, ignore_errors=True)

    def sweep(self) -> int:
        """Delete uploads older than the time-to-live; answers how many went."""
        cutoff, gone = time.time() - self.ttl_s, 0
        for folder in self.root.glob("*/*"):
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    gone += 1
            except OSError:
                continue
        return gone
