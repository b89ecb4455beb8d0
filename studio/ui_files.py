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
import threading
import time
from pathlib import Path

from studio.errors import NotFound


class UiUploads:
    def __init__(self, root: Path, *, ttl_s: int) -> None:
        self.root = Path(root)
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._reserved: dict[str, int] = {}  # bytes promised to uploads still arriving, per owner / address
        self._owners_at: dict[str, set[str]] = {}  # anonymous visitors seen per address (cookies are free to drop)

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

    def reserve(self, owner: str, quota: int, want: int, address: str | None = None) -> int:
        """Room (bytes, at most ``want``) for one upload of ``owner``, held until ``release``: what the quota leaves
        after the files waiting and the uploads already arriving. With ``address`` (the anonymous demo, where a visitor can start
        afresh by dropping a cookie) the quota also holds for every visitor from that address together."""
        with self._lock:
            keys = [owner]
            used = self.used_bytes(owner) + self._reserved.get(owner, 0)
            if address is not None:
                owners = self._owners_at.setdefault(address, set())
                owners.add(owner)
                keys.append(f"address:{address}")
                used = max(used, sum(self.used_bytes(o) for o in owners) + self._reserved.get(keys[1], 0))
            room = max(0, min(want, quota - used))
            for k in keys:
                self._reserved[k] = self._reserved.get(k, 0) + room
            return room

    def release(self, owner: str, room: int, address: str | None = None) -> None:
        with self._lock:
            for k in [owner] + ([f"address:{address}"] if address is not None else []):
                self._reserved[k] = self._reserved.get(k, 0) - room
                if self._reserved[k] <= 0:
                    self._reserved.pop(k, None)

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

    def discard(self, path: Path) -> None:
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
