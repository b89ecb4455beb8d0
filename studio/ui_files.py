"""Files a browser uploads to the UI, kept per owner until a short uses them.

Gradio hands an event whatever path the caller names, so the UI never trusts a path: every file an event receives
must be one that this owner uploaded through the studio's own upload route (typed by its bytes, held to the same
limits as ``POST /api/assets``). Layout: ``<root>/<owner key>/<random token>/<file name>``; the owner key is a hash,
so no user id ever becomes a path, and the token makes a path unguessable.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import time
from pathlib import Path

from studio.errors import NotFound


class UiUploads:
    def __init__(self, root: Path, *, ttl_s: int) -> None:
        self.root = Path(root)
        self.ttl_s = ttl_s
        self._last_sweep = 0.0

    def _owner_dir(self, owner: str) -> Path:
        return self.root / hashlib.sha256(owner.encode()).hexdigest()[:32]

    def keep(self, owner: str, path: Path, filename: str) -> Path:
        """Take ownership of the checked temporary file ``path``; answer where it now lives."""
        folder = self._owner_dir(owner) / secrets.token_hex(16)
        folder.mkdir(parents=True)
        dest = folder / filename
        os.replace(path, dest)
        return dest

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

    def sweep(self, *, every_s: float = 0.0) -> int:
        """Delete uploads older than the time-to-live; at most once per ``every_s``. Answers how many went."""
        if time.monotonic() - self._last_sweep < every_s:
            return 0
        self._last_sweep = time.monotonic()
        cutoff, gone = time.time() - self.ttl_s, 0
        for folder in self.root.glob("*/*"):
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
                    gone += 1
            except OSError:
                continue
        return gone
