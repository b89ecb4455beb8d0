"""The export bundle over HTTP (studio/bundle.py): ``GET /api/shorts/{id}/bundle`` for API clients, and
``/files/bundle/<signed token>`` for the UI's download button, a signed, expiring link like every other file the UI
shows (a browser sends no Bearer token, and a link names no path on the server)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from studio.api.deps import current_user, hosted
from studio.api.docs import AUTHED, errors
from studio.auth.base import Principal
from studio.errors import NotFound
from studio.hosted import Hosted

router = APIRouter(tags=["projects"])
_SALT = "studio-bundle"
_ZIP: dict[int | str, dict[str, Any]] = {200: {
    "description": "The zip (Content-Disposition: attachment, named from the short's title).",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/api/shorts/{short_id}/bundle", responses={**errors(*AUTHED, 404, 422), **_ZIP})
def get_bundle(short_id: str, request: Request, who: Principal = Depends(current_user)) -> FileResponse:
    """Everything needed to post the short by hand, as one zip: the video in every format it was rendered in, its
    thumbnails, captions (SRT, VTT), ``post-<platform>.txt`` per platform, ``post.json`` and a README with a
    checklist per platform. The same short gives the same bytes."""
    return _send(hosted(request), who.user_id, short_id)


@router.get("/files/bundle/{token}", include_in_schema=False)
def signed_bundle(token: str, request: Request) -> FileResponse:
    from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

    from studio.tables import Short

    h = hosted(request)
    try:
        short_id = URLSafeTimedSerializer(h.secret, salt=_SALT).loads(token, max_age=h.server.signed_url_ttl_s)
    except SignatureExpired:
        raise NotFound("This download link has expired.", "Open the short again for a fresh link.",
                       code="link_expired") from None
    except BadSignature:
        raise NotFound("This download link is not valid.", code="link_invalid") from None
    with h.db.session() as db:
        short = db.get(Short, str(short_id))
        owner = short.owner_id if short is not None else ""
    return _send(h, owner, str(short_id))


def bundle_link(h: Hosted, short_id: str) -> str:
    """A link to the bundle of ``short_id`` that works until signed links expire (STUDIO_SIGNED_URL_TTL). Give it
    only to the short's owner, as with the links to its files."""
    from itsdangerous import URLSafeTimedSerializer

    return "/files/bundle/" + URLSafeTimedSerializer(h.secret, salt=_SALT).dumps(short_id)


def _send(h: Hosted, owner: str, short_id: str) -> FileResponse:
    from studio.bundle import hosted_bundle

    work = Path(tempfile.mkdtemp(prefix="studio-bundle-"))
    try:
        made = hosted_bundle(h, owner, short_id, work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return FileResponse(made.path, media_type="application/zip", filename=made.filename,
                        headers={"Cache-Control": "private, no-store"},
                        background=BackgroundTask(shutil.rmtree, work, ignore_errors=True))
