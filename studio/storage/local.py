"""Media in a local folder: ``<root>/<owner>/<sha[:2]>/<sha>``, downloaded through HMAC-signed, expiring links
(``/files/<token>``) that name the object, its download name and type, and the moment they stop working."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from studio.errors import NotFound
from studio.storage.base import StoredObject, object_key

_SALT = "studio-download"


class LocalStorage:
    name = "local"

    def __init__(self, root: Path, secret: str, *, base_url: str = "") -> None:
        from itsdangerous import URLSafeSerializer

        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url.rstrip("/")
        self._signer = URLSafeSerializer(secret, salt=_SALT)

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if len(parts) != 3 or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
            raise NotFound("No such file.", code="file_not_found")
        return self.root.joinpath(*parts)

    def put_file(self, owner: str, path: Path, content_type: str, sha256: str) -> StoredObject:
        key = object_key(owner, sha256)
        dest = self.path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        size = Path(path).stat().st_size
        if dest.exists():
            Path(path).unlink(missing_ok=True)  # same content already stored for this owner
        else:
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)  # readers see the whole file or nothing
            Path(path).unlink(missing_ok=True)
        return StoredObject(key=key, size=size, sha256=sha256, content_type=content_type)

    def download(self, key: str, dest: Path) -> Path:
        shutil.copyfile(self.path(key), dest)
        return Path(dest)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def signed_url(self, key: str, *, expires_in: int, filename: str, content_type: str) -> str:
        token = self._signer.dumps({"k": key, "f": filename, "t": content_type, "e": int(time.time()) + int(expires_in)})
        return f"{self.base_url}/files/{token}"

    def resolve(self, token: str) -> tuple[Path, str, str]:
        """The file, download name and type a link names; NotFound if it was altered, has expired or is gone."""
        from itsdangerous import BadSignature

        try:
            data = self._signer.loads(token)
        except BadSignature:
            raise NotFound("This download link is not valid.", code="link_invalid") from None
        if int(data.get("e", 0)) < time.time():
            raise NotFound("This download link has expired.", "Ask for a fresh link.", code="link_expired")
        path = self.path(str(data["k"]))
        if not path.is_file():
            raise NotFound("The file behind this link was deleted.", code="file_not_found")
        return path, str(data["f"]), str(data["t"])
