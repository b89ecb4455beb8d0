"""/api/projects, /api/shorts and /api/jobs."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from models.errors import InvalidRequest
from pipelines.media import MAX_MUSIC_SECONDS
from pipelines.short import MAX_PHOTOS
from studio.api.deps import current_user, hosted, links
from studio.api.docs import AUTHED, errors
from studio.auth.base import Principal
from studio.db import owned
from studio.requests import check
from studio.tables import Asset, Job, Project, Short, ShortVersion

router = APIRouter(prefix="/api", tags=["projects"])


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


MUSIC_TYPES = {"audio/mpeg", "audio/mp4", "audio/wav", "audio/flac", "audio/ogg"}


class ShortIn(BaseModel):
    """Like ``studio make``. Local model paths (``--model``) are not accepted over the API: the server decides
    which weights it runs."""

    model_config = ConfigDict(extra="forbid")
    topic: str = Field(default="", max_length=300)
    script: str = Field(default="", max_length=20_000)
    platform: str = Field(default="reels", max_length=32)
    duration: float | None = Field(default=None, gt=0, le=600)
    voice: str = Field(default="narrator", max_length=64)
    template: str = Field(default="bold", max_length=64)
    language: str = Field(default="en", max_length=16)
    profile: str = Field(default="auto", max_length=32)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    safety: Literal["block", "warn", "off"] = "block"
    asset_ids: list[str] = Field(default_factory=list, max_length=MAX_PHOTOS)
    voice_sample_asset_id: str | None = None
    voice_consent: bool = False
    music_asset_id: str | None = Field(default=None, description="Your own music track (an audio asset, up to 10 "
                                       "minutes): looped or trimmed to fit the short and ducked under the voice.")
    project_id: str | None = None


def project_body(p: Project) -> dict:
    return {"id": p.id, "name": p.name, "created_at": p.created_at.isoformat()}


def short_body(request: Request, s: Short) -> dict:
    return {"id": s.id, "title": s.title, "project_id": s.project_id, "job_id": s.job_id, "engines": s.engines,
            "warnings": s.warnings.get("items", []), "created_at": s.created_at.isoformat(), "version": s.version,
            "files": links(request, s.files)}


def job_body(request: Request, j: Job, short: Short | None) -> dict:
    return {"id": j.id, "kind": j.kind, "status": j.status, "progress": j.progress, "stage": j.stage,
            "message": j.message, "error": j.error, "created_at": j.created_at.isoformat(),
            "started_at": j.started_at.isoformat() if j.started_at else None,
            "finished_at": j.finished_at.isoformat() if j.finished_at else None,
            "attempts": j.attempts, "queue": j.queue, "profile": j.profile, "cancel_requested": j.cancel_requested,
            "batch_id": j.batch_id, "batch_row": j.batch_row,
            "short": short_body(request, short) if short else None}


@router.post("/projects", status_code=201, responses=errors(400, *AUTHED, 422))
def create_project(body: ProjectIn, request: Request, who: Principal = Depends(current_user)) -> dict:
    with hosted(request).db.session() as db:
        p = Project(owner_id=who.user_id, name=body.name.strip())
        db.add(p)
        db.flush()
        return project_body(p)


@router.get("/projects", responses=errors(*AUTHED))
def list_projects(request: Request, who: Principal = Depends(current_user)) -> dict:
    with hosted(request).db.session() as db:
        rows = db.scalars(select(Project).where(Project.owner_id == who.user_id).order_by(Project.created_at.desc()))
        return {"projects": [project_body(p) for p in rows]}


@router.get("/projects/{project_id}", responses=errors(*AUTHED, 404, 422))
def get_project(project_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    from studio.api.media_routes import asset_body

    with hosted(request).db.session() as db:
        p = owned(db, Project, project_id, who.user_id, "project")
        shorts = db.scalars(select(Short).where(Short.project_id == p.id, Short.owner_id == who.user_id))
        assets = db.scalars(select(Asset).where(Asset.project_id == p.id, Asset.owner_id == who.user_id))
        return {**project_body(p), "shorts": [short_body(request, s) for s in shorts],
                "assets": [asset_body(request, a) for a in assets]}


@router.delete("/projects/{project_id}", status_code=204, responses=errors(*AUTHED, 404, 422))
def delete_project(project_id: str, request: Request, who: Principal = Depends(current_user)) -> Response:
    """Deletes the project and its shorts; uploaded assets stay in the library."""
    h = hosted(request)
    keys = []
    with h.db.session() as db:
        p = owned(db, Project, project_id, who.user_id, "project")
        for s in db.scalars(select(Short).where(Short.project_id == p.id, Short.owner_id == who.user_id)):
            keys += [f["key"] for f in s.files.values()]
            db.delete(s)
        db.delete(p)
    for key in keys:
        h.delete_object_if_unused(key)
    return Response(status_code=204)


def check_ids(db, body: ShortIn, owner: str) -> None:
    """Refuse ids that are not the owner's now, not minutes later inside the job (POST /api/shorts and batches)."""
    for asset_id in [*body.asset_ids, *([body.voice_sample_asset_id] if body.voice_sample_asset_id else []),
                     *([body.music_asset_id] if body.music_asset_id else [])]:
        owned(db, Asset, asset_id, owner, "asset")
    if body.music_asset_id:
        track = owned(db, Asset, body.music_asset_id, owner, "asset")
        if track.kind != "audio" or track.content_type not in MUSIC_TYPES:
            raise InvalidRequest(f"music_asset_id: that asset is {track.content_type}, not a music track.",
                                 "Upload the music as MP3, M4A, WAV, FLAC or OGG.")
        if float((track.meta or {}).get("seconds") or 0) > MAX_MUSIC_SECONDS:
            raise InvalidRequest(f"music_asset_id: the track lasts {track.meta['seconds'] / 60:.1f} minutes; the "
                                 "longest allowed is 10.", "Trim it to 10 minutes or less and upload it again.")
    if body.project_id:
        owned(db, Project, body.project_id, owner, "project")


@router.post("/shorts", status_code=202, responses=errors(400, *AUTHED, 404, 415, 422, 429))
def start_short(body: ShortIn, request: Request, who: Principal = Depends(current_user)) -> dict:
    """Start making a short; answers a job to follow with GET /api/jobs/{id}."""
    h = hosted(request)
    spec = body.model_dump(exclude={"project_id"})
    with h.db.session() as db:
        check_ids(db, body, who.user_id)
    check(h.studio_for(who.user_id), spec)  # every check, now: a refused request makes no job and spends no quota
    job_id = h.start_short(who.user_id, spec, body.project_id)
    with h.db.session() as db:
        return job_body(request, db.get(Job, job_id), None)


@router.get("/shorts", responses=errors(*AUTHED))
def list_shorts(request: Request, who: Principal = Depends(current_user)) -> dict:
    with hosted(request).db.session() as db:
        rows = db.scalars(select(Short).where(Short.owner_id == who.user_id).order_by(Short.created_at.desc()))
        return {"shorts": [short_body(request, s) for s in rows]}


@router.get("/shorts/{short_id}", responses=errors(*AUTHED, 404, 422))
def get_short(short_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    with hosted(request).db.session() as db:
        return short_body(request, owned(db, Short, short_id, who.user_id, "short"))


@router.delete("/shorts/{short_id}", status_code=204, responses=errors(*AUTHED, 404, 422))
def delete_short(short_id: str, request: Request, who: Principal = Depends(current_user)) -> Response:
    h = hosted(request)
    with h.db.session() as db:
        s = owned(db, Short, short_id, who.user_id, "short")
        keys = [f["key"] for f in s.files.values()]
        for v in db.scalars(select(ShortVersion).where(ShortVersion.short_id == s.id)):
            keys += [f["key"] for f in v.files.values()]
            db.delete(v)
        db.delete(s)
    h.analytics.forget_short(who.user_id, short_id)  # its runs, posts and numbers; the Parquet at the next export
    for key in keys:
        h.delete_object_if_unused(key)
    return Response(status_code=204)


class RenderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    formats: list[str] = Field(default_factory=lambda: ["9:16"], min_length=1, max_length=4,
                               description="Feed formats: 9:16, 1:1, 4:5, 16:9 (files short.mp4, short-1x1.mp4, …).")


def _timeline_response(draft, status: int = 200) -> JSONResponse:
    return JSONResponse(draft.timeline, status_code=status,
                        headers={"ETag": draft.etag, "X-Short-Version": str(draft.version)})


@router.get("/shorts/{short_id}/timeline", responses=errors(*AUTHED, 404, 422))
def get_timeline(short_id: str, request: Request, who: Principal = Depends(current_user)) -> JSONResponse:
    """The short's draft timeline (timeline.schema.json, version 1); its ETag goes back in If-Match to save it.
    Photos and clips are named by asset id."""
    return _timeline_response(hosted(request).editing.draft(who.user_id, short_id))


@router.put("/shorts/{short_id}/timeline", responses=errors(400, *AUTHED, 404, 412, 422, 428))
def put_timeline(short_id: str, request: Request, document: dict = Body(...),
                 if_match: str | None = Header(default=None, alias="If-Match"),
                 who: Principal = Depends(current_user)) -> JSONResponse:
    """Save an edited timeline as the draft. Needs ``If-Match`` with the ETag it was read at (428 without it,
    412 when someone saved in between). Checked like ``studio render`` checks it; nothing is rendered yet."""
    return _timeline_response(hosted(request).editing.save_draft(who.user_id, short_id, document, if_match))


@router.post("/shorts/{short_id}/render", status_code=202, responses=errors(400, *AUTHED, 404, 422, 429))
def render_short(short_id: str, request: Request, body: RenderIn | None = None,
                 who: Principal = Depends(current_user)) -> dict:
    """Render the draft as a new version; answers a job to follow with GET /api/jobs/{id}. Spends one of
    today's re-renders (STUDIO_DAILY_RENDERS), separate from new shorts; a refused render spends nothing."""
    h = hosted(request)
    job_id = h.editing.start_render(who.user_id, short_id, (body or RenderIn()).formats)
    with h.db.session() as db:
        return job_body(request, db.get(Job, job_id), None)


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hook: str | None = Field(None, max_length=200, description="The variant's hook (the first words on screen).")
    title: str | None = Field(None, max_length=300)
    caption: str | None = Field(None, max_length=2200)
    hashtags: list[str] | None = Field(None, max_length=30)


@router.post("/shorts/{short_id}/variants", status_code=202, responses=errors(400, *AUTHED, 404, 422, 429))
def make_variant(short_id: str, body: VariantIn, request: Request, who: Principal = Depends(current_user)) -> dict:
    """A variant of the short for an A/B test: a new short from its timeline with a different hook, title, caption
    or hashtags, rendered as a re-render. Answers the new short's id, the render job to follow, and the experiment
    (GET /api/analytics/experiments/{id}) the two or three variants now form."""
    h = hosted(request)
    made = h.editing.variant(who.user_id, short_id, **body.model_dump())
    with h.db.session() as db:
        job = job_body(request, db.get(Job, made.job_id), None)
    return {"short_id": made.short_id, "job": job, "experiment": made.experiment}


def version_body(request: Request, v: ShortVersion, current: int) -> dict:
    return {"number": v.number, "current": v.number == current, "created_at": v.created_at.isoformat(),
            "formats": v.formats.get("items", []), "title": v.timeline.get("title", ""),
            "files": links(request, v.files)}


@router.get("/shorts/{short_id}/versions", responses=errors(*AUTHED, 404, 422))
def list_versions(short_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    """Every render of the short, newest first; ``current`` marks the one the short shows."""
    current, rows = hosted(request).editing.versions(who.user_id, short_id)
    return {"current": current, "versions": [version_body(request, v, current) for v in rows]}


@router.post("/shorts/{short_id}/versions/{number}/restore", responses=errors(*AUTHED, 404, 422))
def restore_version(short_id: str, number: int, request: Request, who: Principal = Depends(current_user)) -> JSONResponse:
    """Make an earlier version current again: the short shows its files, and its timeline becomes the draft
    (answered with the new ETag)."""
    h = hosted(request)
    draft = h.editing.restore(who.user_id, short_id, number)
    with h.db.session() as db:
        body = short_body(request, owned(db, Short, short_id, who.user_id, "short"))
    return JSONResponse(body, headers={"ETag": draft.etag})


@router.get("/jobs", responses=errors(*AUTHED))
def list_jobs(request: Request, who: Principal = Depends(current_user)) -> dict:
    with hosted(request).db.session() as db:
        rows = db.scalars(select(Job).where(Job.owner_id == who.user_id).order_by(Job.created_at.desc()).limit(100))
        return {"jobs": [job_body(request, j, None) for j in rows]}


@router.get("/jobs/{job_id}", responses=errors(*AUTHED, 404, 422))
def get_job(job_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    with hosted(request).db.session() as db:
        j = owned(db, Job, job_id, who.user_id, "job")
        short = db.get(Short, j.short_id) if j.short_id else None
        return job_body(request, j, short if short and short.owner_id == who.user_id else None)


@router.post("/jobs/{job_id}/cancel", responses=errors(*AUTHED, 404, 409, 422))
def cancel_job(job_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    """Cancel a job: a queued one at once (``cancelled``; the short it would have made is not counted against
    today's quota), a running one at its next stage (``cancel_requested`` until it stops; nothing partial is saved,
    and it stays counted). A finished job answers 409 ``job_finished``."""
    h = hosted(request)
    h.cancel_job(who.user_id, job_id)
    with h.db.session() as db:
        return job_body(request, db.get(Job, job_id), None)


@router.post("/jobs/{job_id}/retry", status_code=202, responses=errors(*AUTHED, 404, 409, 422, 429, 503))
def retry_job(job_id: str, request: Request, who: Principal = Depends(current_user)) -> dict:
    """Queue a failed or cancelled job again from the beginning. The quota it spent is not spent again; a job
    cancelled before it started (its quota given back) spends one now (429 ``quota_exceeded`` when none is left).
    Any other state answers 409 ``job_not_retryable``. While the queue is down the job waits, queued, until it is
    back."""
    h = hosted(request)
    h.retry_job(who.user_id, job_id)
    with h.db.session() as db:
        return job_body(request, db.get(Job, job_id), None)
