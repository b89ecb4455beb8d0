"""The media-storage interface: local files by default, Supabase Storage when configured.

Keys are ours, never the uploader's file name: ``<owner>/<sha256[:2]>/<sha256>`` (content-addressed, per-user
prefix), so a name like ``../../etc/passwd`` never reaches a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    content_type: str


def object_key(owner: str, sha256: str) -> str:
    return f"{owner}/{sha256[:2]}/{sha256}"


class Storage(Protocol):
    name: str

    def put_file(self, owner: str, path: Path, content_type: str, sha256: str) -> StoredObject:
        """Store the finished local file ``path`` (already checked) under ``owner``; idempotent for the same content."""
        ...

    def download(self, key: str, dest: Path) -> Path:
        """Copy the object into the local file ``dest`` (jobs read the creator's media from disk)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def signed_url(self, key: str, *, expires_in: int, filename: str, content_type: str) -> str:
        """An expiring link that downloads the object with this file name and content type."""
        ...
