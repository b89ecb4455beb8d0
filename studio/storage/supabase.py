"""Supabase Storage behind our Storage interface, through ``storage3``.

The server holds the service-role key (sent as ``apikey`` and as the bearer token), so the bucket can stay private:
browsers only ever get expiring signed URLs. Keys are content-addressed (``studio.storage.base.object_key``), which
makes an upload with ``upsert`` idempotent. 5xx and network failures are retried with backoff, then reported as
``UpstreamUnavailable``; the key never appears in an error message or a log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from storage3 import SyncStorageClient
from storage3.exceptions import StorageApiError

from studio.errors import NotFound, RateLimited, TooLarge, UpstreamUnavailable
from studio.storage.base import StoredObject, object_key
from studio.upstream import TRY_AGAIN, Transient, with_retries

if TYPE_CHECKING:
    from studio.settings import ServerSettings

__all__ = ["SupabaseStorage"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}/[0-9a-f]{2}/[0-9a-f]{64}")



class _Missing(Exception):
    """Storage says 404: the object (or the bucket) does not exist."""


class SupabaseStorage:
    """``Storage`` for ``STUDIO_STORAGE=supabase``: ``url`` is the project URL, ``service_key`` its service-role key
    and ``bucket`` a private bucket that already exists."""

    name = "supabase"

    def __init__(self, url: str, service_key: str, bucket: str = "studio", *, http_client: httpx.Client | None = None,
                 attempts: int = 3, retry_wait: float = 0.5, timeout: float = 60.0, cache_control: int = 3600) -> None:
        if not url or not service_key or not bucket:
            raise ValueError("SupabaseStorage needs the project URL, the service-role key and a bucket")
        self.bucket = bucket
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        # storage3 joins relative paths onto this base, so it must end with a slash.
        headers = {"apikey": service_key, "Authorization": f"Bearer {service_key}"}
        client = SyncStorageClient(f"{url.rstrip('/')}/storage/v1/", headers, http_client=self._http)
        self._bucket = client.from_(bucket)
        self._attempts = max(1, attempts)
        self._retry_wait = retry_wait
        self._cache_control = str(cache_control)

    def __repr__(self) -> str:
        return f"SupabaseStorage(bucket={self.bucket!r})"

    @classmethod
    def from_settings(cls, settings: ServerSettings, **kwargs: Any) -> SupabaseStorage:
        if not (settings.supabase_url and settings.supabase_service_key):
            raise ValueError("Set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY to use Supabase Storage")
        return cls(settings.supabase_url, settings.supabase_service_key, settings.supabase_bucket, **kwargs)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # -- Storage ----------------------------------------------------------------------------------------------------

    def put_file(self, owner: str, path: Path, content_type: str, sha256: str) -> StoredObject:
        if not _OWNER.fullmatch(owner or "") or not _SHA256.fullmatch(sha256 or ""):
            raise ValueError("owner must be an id and sha256 a lowercase hex digest")
        if not content_type or "/" not in content_type:
            raise ValueError("a media type such as video/mp4 is required")
        key = object_key(owner, sha256)
        size = Path(path).stat().st_size
        options = {"content-type": content_type, "upsert": "true", "cache-control": self._cache_control}
        try:
            self._call("upload", lambda: self._bucket.upload(key, Path(path), options))  # type: ignore[arg-type]
        except _Missing:
            raise UpstreamUnavailable(f"The Supabase Storage bucket {self.bucket!r} does not exist.",
                                      "Create it (private) in the Supabase dashboard, or set STUDIO_SUPABASE_BUCKET.") from None
        return StoredObject(key=key, size=size, sha256=sha256, content_type=content_type)

    def delete(self, key: str) -> None:
        _check_key(key)
        try:
            self._call("delete", lambda: self._bucket.remove([key]))
        except _Missing:
            pass  # already gone

    def signed_url(self, key: str, *, expires_in: int, filename: str, content_type: str) -> str:
        """``content_type`` is the one the object was stored with (``put_file`` always sets it); Storage serves that."""
        _check_key(key)
        if expires_in <= 0:
            raise ValueError("expires_in must be a positive number of seconds")
        # a display name may hold characters a download header cannot: replace them rather than fail the request
        filename = "".join("_" if c in '/\\"' or ord(c) < 32 or ord(c) == 127 else c for c in filename) or "download"
        try:
            signed = self._call("sign", lambda: self._bucket.create_signed_url(key, expires_in, {"download": filename}))
        except _Missing:
            raise NotFound("That file does not exist.", code="not_found") from None
        url = signed.get("signedURL") or ""
        if not url.startswith(("https://", "http://")):
            raise UpstreamUnavailable("Supabase Storage did not return a download link.", TRY_AGAIN)
        return url

    def download(self, key: str, dest: Path) -> Path:
        """Fetch an object into a local file (a job needs the creator's media on disk)."""
        _check_key(key)
        try:
            data = self._call("download", lambda: self._bucket.download(key))
        except _Missing:
            raise NotFound("That file does not exist.", code="not_found") from None
        Path(dest).write_bytes(data)
        return Path(dest)

    # -- plumbing ---------------------------------------------------------------------------------------------------

    def _call(self, op: str, fn: Callable[[], T]) -> T:
        def attempt() -> T:
            try:
                return fn()
            except StorageApiError as e:
                raise _translate(op, e) from None
            except httpx.RequestError as e:
                raise Transient(0) from e

        return with_retries("Supabase Storage", op, attempt, attempts=self._attempts, retry_wait=self._retry_wait)


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise ValueError("not a storage key made by object_key()")


def _translate(op: str, error: StorageApiError) -> Exception:
    """Storage puts the real status in the body (``statusCode``); older deployments answer HTTP 400 around it."""
    cause = error.__cause__
    http_status = cause.response.status_code if isinstance(cause, httpx.HTTPStatusError) else 0
    body_status = int(error.status) if str(error.status).isdigit() else 0
    status = body_status or http_status
    if http_status >= 500 or status >= 500:
        return Transient(max(http_status, status))
    if status == 404 or http_status == 404:
        return _Missing()
    if status == 429 or http_status == 429:
        return RateLimited("Too many requests to Supabase Storage.", 30, "Wait a moment and try again.")
    if status == 413 or http_status == 413:
        return TooLarge("The file is larger than the Supabase Storage bucket allows.", "Raise the bucket's file size limit.")
    log.warning("Supabase Storage %s refused: HTTP %s, %s", op, status, error.code)
    return UpstreamUnavailable(f"Supabase Storage refused the {op} (HTTP {status}, {error.code}).",
                               "Check the bucket and SUPABASE_SERVICE_ROLE_KEY.")
