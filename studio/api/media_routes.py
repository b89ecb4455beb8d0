"""/api/assets (streaming uploads) and /files/<signed token> (downloads)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from sqlalchemy import select

from studio.api.deps import current_user, hosted, links
from studio.api.docs import AUTHED, UPLOAD_BODY, errors
from studio.api.uploads import receive
from studio.auth.base import Principal
from studio.db import owned
from studio.errors import TooLarge
from studio.tables import Asset

router = APIRouter(tags=["media"])
_OVERHEAD = 64 * 1024  # multipart headers and small fields around the file


def asset_body(request: Request, a: Asset) -> dict:
    link = links(request, {a.filename: {"key": a.storage_key, "content_type": a.content_type}})[a.filename]
    return {"id": a.id, "filename": a.filename, "kind": a.kind, "content_type": a.content_type, "size": a.size,
            "sha256": a.sha256, "project_id": a.project_id, "meta": a.meta, "created_at": a.created_at.isoformat(),
            "download_url": link}


@router.post("/api/assets", status_code=201, responses=errors(400, *AUTHED, 404, 413, 415), openapi_extra=UPLOAD_BODY)
async def upload_asset(request: Request, who: Principal = Depends(current_user)) -> dict:
    """Upload one photo, clip or audio file as ``multipart/form-data`` (part ``file``; optional field ``project_id``).
    Its type is read from its first bytes; limits per type are enforced while the body streams in."""
    h = hosted(request)
    limits = h.upload_limits
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.largest + _OVERHEAD:
        raise TooLarge(f"The upload is {int(declared) / 2**20:.0f} MB; the largest allowed is "
                       f"{limits.largest // 2**20} MB.", code="file_too_large")
    upload = await receive(request.stream(), request.headers.get("content-type", ""), h.uploads_dir, limits)
    asset = h.add_asset(who.user_id, upload, upload.fields.get("project_id") or None)
    return asset_body(request, asset)


@router.get("/api/assets", responses=errors(*AUTHED, 422))
def list_assets(request: Request, project_id: str | None = None, who: Principal = Depends(current_user)) -> dict:
    with hosted(request).db.session() as db:
        q = select(Asset).where(Asset.owner_id == who.user_id).order_by(Asset.created_at.desc())
        if project_id:
            q = q.where(Asset.project_id == project_id)
        return {"assets": [asset_body(request, a) for a in db.scalars(q)]}


@router.get("/api/assets/{asset_id}", responses=errors(*AUTHED, 404, 422))
def get_asset(asset_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    with hosted(request).db.session() as db:
        return asset_body(request, owned(db, Asset, asset_id, who.user_id, "asset"))


@router.delete("/api/assets/{asset_id}", status_code=204, responses=errors(*AUTHED, 404, 422))
def delete_asset(asset_id: str, request: Request, who: Principal = Depends(current_user)) -> Response:
    h = hosted(request)
    with h.db.session() as db:
        asset = owned(db, Asset, asset_id, who.user_id, "asset")
        key = asset.storage_key
        db.delete(asset)
    h.delete_object_if_unused(key)
    return Response(status_code=204)


@router.get("/files/{token}", include_in_schema=False)
def download(token: str, request: Request):
    """A signed, expiring download link (local storage). Supabase links point at Supabase directly."""
    storage = hosted(request).storage
    if not hasattr(storage, "resolve"):
        return RedirectResponse("/", status_code=404)
    path, filename, content_type = storage.resolve(token)
    return FileResponse(path, media_type=content_type, filename=filename)
