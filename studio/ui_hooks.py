"""The UI's link to the hosted studio. The UI makes shorts exactly as ``POST /api/shorts`` does: its files become
the caller's assets, the same quota is spent, the same job runner does the work, the short is saved to the same
storage, and the UI shows it through signed links. Nothing the UI shows is a path on the server."""

from __future__ import annotations

import hashlib
import html
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from models.errors import InvalidRequest, Remedy, StudioError
from pipelines.types import ShortRequest
from studio.auth.base import Principal
from studio.db import owned
from studio.hosted import Hosted
from studio.jobs import JobCancelled
from studio.requests import check, spec_of
from studio.tables import Job, Project, Short
from studio.ui_jobs import JobView, ProgressWords, cancelled_words

VISITOR_COOKIE = "studio_visitor"  # the anonymous demo's visitor: whose uploads are whose
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class Account:
    """Who is calling: a signed-in creator, or a visitor of the anonymous demo (owner ``anon-…``, quota per IP)."""

    owner: str
    user: Principal | None
    ip: str
    on_this_machine: bool = False


@dataclass(frozen=True)
class ShortView:
    short_id: str
    title: str
    links: dict[str, str]  # file name → signed link
    stages: list[list] = field(default_factory=list)  # [stage, engine, seconds]
    checks: str = ""
    warnings: tuple[str, ...] = ()
    post: dict = field(default_factory=dict)  # post.json: the post text per platform
    run: RunCost | None = None  # the latest run that made or rendered it (None for shorts made before runs were kept)


@dataclass(frozen=True)
class RunCost:
    """A run's compute here against what paid APIs would have charged for the same work (its run event's data.cost,
    priced from configs/prices.yaml when it ran)."""

    seconds: float  # compute: the run's stages together
    device: str  # cpu | cuda
    usd: float | None  # None: the run was not priced
    verified: bool  # every priced line from a verified, dated source
    lines: tuple[tuple[str, str, float], ...] = ()  # (units field, vendor, usd) of each line with work in it


class UiHooks:
    def __init__(self, hosted: Hosted) -> None:
        self.hosted = hosted

    @property
    def accounts_on(self) -> bool:
        return self.hosted.auth is not None

    # who
    def account(self, request, username: str | None = None) -> Account:
        """``request``: an event's gr.Request (its ``username`` is what the auth dependency returned: our user id) or
        a plain HTTP request with the signed-in ``username`` given."""
        ip = (request.client.host if request is not None and request.client else "") or "unknown"
        headers = getattr(request, "headers", None) or {}
        here = ip in _LOOPBACK and not headers.get("x-forwarded-for")
        if self.hosted.auth is not None:
            user_id = username or getattr(request, "username", None)
            if not user_id:
                raise StudioError("Your session has ended.", "Reload the page and sign in again.")
            from studio.tables import User

            with self.hosted.db.session() as db:
                user = db.get(User, user_id)
            return Account(user_id, Principal(user_id, user.email if user else ""), ip, here)
        cookies = getattr(request, "cookies", None) or {}
        visitor = cookies.get(VISITOR_COOKIE) or f"ip:{ip}"
        key = hashlib.sha256((self.hosted.secret + "\0" + visitor).encode()).hexdigest()[:24]
        owner = f"anon-{key}"
        self.hosted.ensure_user(Principal(owner, ""))
        return Account(owner, None, ip, here)

    def quota(self, who: Account) -> tuple[str, int]:
        s = self.hosted.server
        return (f"user:{who.owner}", s.daily_shorts) if who.user else (f"ip:{who.ip}", s.demo_daily_shorts)

    def quota_text(self, who: Account) -> str:
        q = self.hosted.quota(*self.quota(who))
        if who.user:
            return f"Signed in as **{html.escape(who.user.email)}** · {q.remaining} of {q.limit} shorts left today"
        return f"Anonymous demo · {q.remaining} of {q.limit} shorts left today from this address"

    # models (the first-run panel): who may fetch weights onto this machine, and fetching them
    def may_manage_models(self, who: Account) -> bool:
        """Whoever runs the studio: someone at this machine (not through a proxy), or anyone when the operator set
        STUDIO_UI_MODEL_DOWNLOADS=1 (a Space owner who wants visitors to start the download)."""
        import os

        return who.on_this_machine or os.environ.get("STUDIO_UI_MODEL_DOWNLOADS") == "1"

    def models_status(self, profile: str = "auto") -> tuple[list[tuple[str, str, str]], list]:
        """(stage, engine, status) rows, and the items a download would fetch."""
        from studio import weights

        settings = self.hosted.studio.settings
        return weights.engines_table(settings, profile), weights.missing(settings, "cpu")

    def download_sizes(self, todo: list) -> int:
        from studio import weights

        return sum(weights.sizes(todo).values())

    def pull_models(self, who: Account, on_progress: Callable[[float, str], None], cancel) -> list[str]:
        from studio import weights

        if not self.may_manage_models(who):
            raise InvalidRequest("Only whoever runs this studio can download models onto it.",
                                 "Ask them to run: studio models pull cpu")
        try:
            return weights.pull_all(self.hosted.studio.settings, "cpu", on_progress=on_progress, cancel=cancel)
        finally:
            self.hosted.studio.forget_voice_previews()  # a pulled voice is heard at once

    def accept_licence(self, who: Account, name: str) -> None:
        if not self.may_manage_models(who):
            raise InvalidRequest("Only whoever runs this studio can accept a model's licence for it.")
        self.hosted.studio.settings.accept_licence(name)

    def voice_preview(self, preset: str, language: str):
        return self.hosted.studio.voice_preview(preset, language)

    # files
    def checked_upload(self, who: Account, path: str) -> Path:
        """The caller's own upload at ``path``; NotFound for anything else (checked before Gradio reads it)."""
        return self.hosted.ui_uploads.owned(who.owner, path)

    def may_read_upload(self, request, path: str, username: str | None = None) -> bool:
        """For Gradio's ``/file=`` route: only the caller's own uploads are ever served."""
        try:
            self.checked_upload(self.account(request, username), path)
            return True
        except StudioError:
            return False

    # work
    def start(self, who: Account, request: ShortRequest, *, project: str = "", originals: tuple[Path, ...] = ()) -> str:
        """Check the request (a refused one costs no quota), store its files as the caller's assets, spend one short
        and queue the job: the path ``POST /api/shorts`` takes. Answers the job id."""
        from studio.api.uploads import examine

        h = self.hosted
        if request.models and not (h.auth is None and who.on_this_machine):
            raise InvalidRequest("Model paths can only be chosen on your own machine, not on a shared server.",
                                 "Clear the 'Model per stage' box.")
        check(h.studio_for(who.owner), spec_of(request), request.media, request.voice_sample, request.music)
        project_id = self._project_named(who.owner, project) if project.strip() and who.user else None
        asset_ids, voice_id, music_id = [], None, None
        for path in request.media:
            asset_ids.append(h.add_asset(who.owner, examine(path, Path(path).name)).id)
        if request.voice_sample is not None:
            voice_id = h.add_asset(who.owner, examine(request.voice_sample, "voice-sample")).id
        if request.music is not None:
            music_id = h.add_asset(who.owner, examine(request.music, Path(request.music).name)).id
        job_id = h.start_short(who.owner, spec_of(request, asset_ids, voice_id, music_id), project_id,
                               quota=self.quota(who))
        for original in originals:  # now kept as assets: the uploads themselves are done with
            h.ui_uploads.discard(original)
        return job_id

    def follow(self, who: Account, job_id: str, on_progress: Callable[[float, str], None],
               poll_s: float = 0.4) -> str:
        """Wait for the job, telling ``on_progress`` how far it is, in the creator's words, wherever it runs (this
        process or a worker elsewhere: the jobs table says). Answers the short's id; raises the job's error, or
        JobCancelled saying what the cancel cost."""
        words = ProgressWords()
        while True:
            job = self.job(who, job_id)
            if job.status == "succeeded" and job.short_id:
                return job.short_id
            if job.status == "failed":
                raise self.job_error(job)
            if job.status == "cancelled":
                raise JobCancelled(cancelled_words(job))
            on_progress(*words(job))
            time.sleep(poll_s)

    def job(self, who: Account, job_id: str) -> JobView:
        """One of the caller's jobs now; NotFound for anyone else's."""
        with self.hosted.db.session() as db:
            job = owned(db, Job, job_id, who.owner, "job")
            ahead, held_back = 0, False
            if job.status == "queued":
                ahead = db.scalar(select(func.count()).select_from(Job).where(
                    Job.status == "queued", Job.created_at < job.created_at)) or 0
                held_back = (db.scalar(select(func.count()).select_from(Job).where(
                    Job.owner_id == who.owner, Job.status == "running"))
                    or 0) >= self.hosted.jobs.policy.user_max_running
            return JobView(job.status, job.progress, job.stage, job.message, job.attempts, job.cancel_requested,
                           job.started_at is None, ahead, held_back, job.short_id, job.error, job.kind)

    @staticmethod
    def job_error(job: JobView) -> StudioError:
        error = job.error or {}
        remedy = Remedy(**error["remedy"]) if isinstance(error.get("remedy"), dict) else None
        return StudioError(error.get("message") or "Making the short failed.", error.get("hint", ""), remedy)

    def cancel(self, who: Account, job_id: str) -> str:
        """The Cancel button: what ``POST /api/jobs/{id}/cancel`` does."""
        return self.hosted.cancel_job(who.owner, job_id)

    def retry(self, who: Account, job_id: str) -> None:
        """The Retry button: what ``POST /api/jobs/{id}/retry`` does, from the caller's quota (a demo visitor's is
        their address's) when the job gave its quota back."""
        self.hosted.retry_job(who.owner, job_id, quota=self.quota(who))

    def view(self, who: Account, short_id: str) -> ShortView:
        """One of the caller's shorts as signed links plus its report; NotFound for anyone else's."""
        h = self.hosted
        with h.db.session() as db:
            short = owned(db, Short, short_id, who.owner, "short")
            files, title, warnings = dict(short.files), short.title, tuple(short.warnings.get("items", []))
        report = self._json(files, "report.json")
        stages = [[r["stage"], r["engine"], round(float(r["seconds"]), 2)] for r in report.get("stages", [])]
        checks = ", ".join(f"{k} {'✓' if v.get('ok') else '✗'}" for k, v in report.get("checks", {}).items())
        return ShortView(short_id, title, h.links(files), stages, checks, warnings, self._json(files, "post.json"),
                         self.run_cost(who, short_id))

    def run_cost(self, who: Account, short_id: str) -> RunCost | None:
        """The caller's latest succeeded run of this short (its run event): compute seconds and the paid-API
        equivalent. None when there is none: an older short, or another creator's."""
        from studio.tables import EventRow

        with self.hosted.db.session() as db:
            row = db.scalars(select(EventRow).where(
                EventRow.kind == "run", EventRow.short_id == short_id, EventRow.owner_id == who.owner,
                EventRow.status == "succeeded").order_by(EventRow.at.desc(), EventRow.id.desc()).limit(1)).first()
            if row is None:
                return None
            seconds, data = float(row.seconds or 0.0), dict(row.data or {})
        cost = data.get("cost") or {}
        usd = cost.get("total_usd")
        lines = tuple((str(ln.get("field") or ""), str(ln.get("vendor") or ""), float(ln.get("usd") or 0.0))
                      for ln in cost.get("lines") or () if ln.get("amount"))
        return RunCost(seconds, str(data.get("device") or "cpu"), float(usd) if usd is not None else None,
                       bool(cost.get("verified")), lines)

    def _json(self, files: dict, name: str) -> dict:
        if name not in files:
            return {}
        with tempfile.TemporaryDirectory(prefix="studio-report-") as tmp:
            path = self.hosted.storage.download(files[name]["key"], Path(tmp) / name)
            return json.loads(path.read_text(encoding="utf-8"))

    def outline(self, who: Account, request: ShortRequest) -> tuple[str, ...] | None:
        """The offline writer's scenes for a topic when no language model would write its script (else None)."""
        return self.hosted.studio_for(who.owner).outline(request)

    def save_post(self, who: Account, short_id: str, edits: dict) -> dict:
        """The creator's own post text into their short's post.json (checked against each platform's limits)."""
        from studio.post_text import save_post

        return save_post(self.hosted, who.owner, short_id, edits)

    # publishing (the Calendar tab): the same services /api/connections and /api/posts use
    def platforms(self, who: Account) -> list[dict]:
        return self.hosted.connections.platforms_view(who.owner)

    def posts(self, who: Account, start, end) -> list[dict]:
        return self.hosted.posts.list(who.owner, start, end)

    def post_text(self, who: Account, short_id: str, connection_id: str) -> dict:
        """What a post of this short to this account says unless edited: its platform's entry in post.json."""
        from studio.tables import Connection

        with self.hosted.db.session() as db:
            files = dict(owned(db, Short, short_id, who.owner, "short").files)
            platform = owned(db, Connection, connection_id, who.owner, "connection").platform
        return self.hosted.posts.default_text(files, platform)

    def schedule(self, who: Account, spec, idempotency_key: str) -> tuple[dict, bool]:
        return self.hosted.posts.schedule(who.owner, spec, idempotency_key)

    def posting_info(self, who: Account, connection_id: str) -> dict:
        """What a post to this account may choose, asked from the platform now (TikTok's creator_info)."""
        return self.hosted.posts.posting_info(who.owner, connection_id)

    def short_seconds(self, who: Account, short_id: str) -> float | None:
        """How long the short lasts (its report.json), or None where it does not say."""
        with self.hosted.db.session() as db:
            files = dict(owned(db, Short, short_id, who.owner, "short").files)
        seconds = self._json(files, "report.json").get("duration")
        return float(seconds) if isinstance(seconds, (int, float)) else None

    def reschedule(self, who: Account, post_id: str, local_time: str, timezone: str) -> dict:
        return self.hosted.posts.reschedule(who.owner, post_id, local_time=local_time, timezone=timezone)

    def post(self, who: Account, post_id: str) -> dict:
        return self.hosted.posts.get(who.owner, post_id)

    def cancel_post(self, who: Account, post_id: str) -> dict:
        return self.hosted.posts.cancel(who.owner, post_id)

    def set_slots(self, who: Account, connection_id: str, slots: list[str]) -> list[str]:
        return self.hosted.posts.set_slots(who.owner, connection_id, slots)

    def slots(self, who: Account) -> dict[str, list[str]]:
        """Each of the caller's accounts' preset posting times."""
        from studio.tables import Connection

        with self.hosted.db.session() as db:
            return {c.id: list(c.slots or []) for c in db.scalars(select(Connection).where(
                Connection.owner_id == who.owner))}

    def my_shorts(self, who: Account) -> list[dict]:
        with self.hosted.db.session() as db:
            names = {p.id: p.name for p in db.scalars(select(Project).where(Project.owner_id == who.owner))}
            rows = db.scalars(select(Short).where(Short.owner_id == who.owner).order_by(Short.created_at.desc()))
            return [{"id": s.id, "created": s.created_at.strftime("%Y-%m-%d %H:%M"), "title": s.title,
                     "project": names.get(s.project_id, "")} for s in rows]

    def _project_named(self, owner: str, name: str) -> str:
        name = name.strip()[:200]
        with self.hosted.db.session() as db:
            p = db.scalar(select(Project).where(Project.owner_id == owner, Project.name == name))
            if p is None:
                p = Project(owner_id=owner, name=name)
                db.add(p)
                db.flush()
            return p.id

    # editing (the Edit tab): the same service the REST API's timeline, render and versions routes use
    def render_quota(self, who: Account) -> tuple[str, int]:
        s = self.hosted.server
        return (f"renders:user:{who.owner}", s.daily_renders) if who.user else (f"renders:ip:{who.ip}", s.daily_renders)

    def open_draft(self, who: Account, short_id: str):
        return self.hosted.editing.draft(who.owner, short_id)

    def save_draft(self, who: Account, short_id: str, document: dict, etag: str):
        return self.hosted.editing.save_draft(who.owner, short_id, document, etag)

    def start_render(self, who: Account, short_id: str, formats: list[str]) -> str:
        return self.hosted.editing.start_render(who.owner, short_id, formats, quota=self.render_quota(who))

    def versions(self, who: Account, short_id: str) -> tuple[int, list[tuple[str, int]]]:
        current, rows = self.hosted.editing.versions(who.owner, short_id)
        return current, [(f"Version {v.number} · {v.created_at:%Y-%m-%d %H:%M} · {', '.join(v.formats.get('items', []))}"
                          + (" (shown)" if v.number == current else ""), v.number) for v in rows]

    def restore(self, who: Account, short_id: str, number: int):
        return self.hosted.editing.restore(who.owner, short_id, number)

    def add_photo(self, who: Account, path: Path) -> str:
        """A photo the creator uploaded in the Edit tab, kept as their asset; answers its id."""
        from studio.api.uploads import examine

        upload = examine(Path(path), Path(path).name)
        if upload.kind != "image":
            raise InvalidRequest("That file is not a photo.", "Choose a JPEG, PNG or WebP image.")
        return self.hosted.add_asset(who.owner, upload).id

    def my_photos(self, who: Account) -> list[tuple[str, str]]:
        from studio.tables import Asset

        with self.hosted.db.session() as db:
            rows = db.scalars(select(Asset).where(Asset.owner_id == who.owner, Asset.kind == "image")
                              .order_by(Asset.created_at.desc()).limit(200))
            return [(f"{a.filename} · {a.created_at:%m-%d %H:%M}", a.id) for a in rows]

    def scene_files(self, who: Account, document: dict) -> dict[str, Path]:
        """Scene id → a local copy of the photo or clip it shows (the caller's assets only), for previews."""
        from pipelines.timeline import Timeline
        from studio.tables import Asset

        t = Timeline.from_dict(document)
        folder = self.hosted.settings.home / "edit-previews" / who.owner
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        with self.hosted.db.session() as db:
            for sc in t.scenes:
                if sc.visual.is_file and sc.visual.asset:
                    asset = db.scalar(select(Asset).where(Asset.id == sc.visual.asset, Asset.owner_id == who.owner))
                    if asset is None:  # deleted since: the scene shows its prompt's still until it gets another
                        continue
                    local = folder / asset.id
                    if not local.exists():  # a whole copy or none: concurrent previews never read half a file
                        tmp = self.hosted.storage.download(asset.storage_key, folder / f".{asset.id}.{os.getpid()}")
                        os.replace(tmp, local)
                    out[sc.id] = local
        return out

    # analytics (the Analytics tab): the same service GET /api/analytics/... and `studio analytics` answer from
    def analytics_studio(self, who: Account, days: int = 30):
        return self.hosted.analytics.studio(who.owner, days)

    def analytics_posts(self, who: Account, timezone: str):
        return self.hosted.analytics.posts(who.owner, timezone)

    def why(self, who: Account, post_id: str, timezone: str):
        return self.hosted.analytics.why(who.owner, post_id, timezone)

    def experiments(self, who: Account) -> list[dict]:
        return self.hosted.analytics.experiments(who.owner)

    def verdict(self, who: Account, experiment_id: str):
        return self.hosted.analytics.verdict(who.owner, experiment_id)

    def new_experiment(self, who: Account, name: str, short_ids: list[str]) -> dict:
        return self.hosted.analytics.new_experiment(who.owner, name, short_ids)

    # CSV imports (the Analytics tab's Import section): the same service POST /api/analytics/imports stores through
    def import_csv(self, who: Account, data: bytes, mapping: dict[str, str], *, platform: str,
                   date_order: str | None, timezone: str):
        """Every row of the caller's CSV export as snapshots of their videos, in one transaction: (the parsed file,
        how many snapshots were new)."""
        return self.hosted.analytics.import_csv(who.owner, data, mapping, platform=platform, date_order=date_order,
                                                timezone=timezone)
