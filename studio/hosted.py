"""The hosted studio's services, built once from settings: metadata DB, auth, storage, rate limits, quotas and
the job runner. The REST API and the signed-in UI both use this object; neither re-implements a step."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from models.errors import StudioError
from models.hub import sha256_file
from pipelines.types import ShortRequest, ShortResult
from studio.auth.base import AuthProvider, Principal
from studio.core import Studio, on_zero_gpu
from studio.db import Database, owned
from studio.engines import resolve_profile
from studio.errors import Conflict, NotFound, RateLimited, UpstreamUnavailable
from studio.jobs import UNFINISHED, JobPolicy, JobRunner, JobStore, Lease, LocalJobRunner
from studio.limits import Limiter, Quota, RedisSignInThrottle, SignInThrottle
from studio.requests import request_of
from studio.settings import ServerSettings, Settings
from studio.tables import Asset, Job, Project, QuotaCounter, Short, ShortVersion, UsageEvent, User

log = logging.getLogger("studio.hosted")

_OUTPUT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".srt": "application/x-subrip", ".vtt": "text/vtt",
                 ".json": "application/json", ".ass": "text/x-ssa", ".wav": "audio/wav"}


def server_secret(settings: Settings) -> str:
    """STUDIO_JWT_SECRET, else a random secret made once and kept (mode 0600) in STUDIO_HOME."""
    if settings.server.jwt_secret:
        return settings.server.jwt_secret
    path = settings.home / "secret.key"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class Hosted:
    def __init__(self, settings: Settings, *, studio: Studio | None = None, auth: AuthProvider | None = None,
                 storage=None, role: str = "web") -> None:
        self.settings = settings
        self.server: ServerSettings = settings.server
        self.studio = studio or Studio(settings)
        self.studio.runs = None  # its jobs' runs are recorded with their creator (run_short_job, editing)
        self._make = on_zero_gpu(_make)  # on a ZeroGPU Space a GPU is attached for each make call
        self.db = Database.for_home(settings.home, self.server.database_url)
        self.db.migrate()
        self.secret = server_secret(settings)
        self.auth = auth or self._auth()
        self.storage = storage or self._storage()
        # under celery several web processes and workers serve one deployment: the limits live in its Redis, and a
        # check that cannot reach it refuses the request with 503 limits_unavailable (studio.limits.LimitsUnavailable)
        shared = self.server.redis_url if self.server.jobs == "celery" else None
        self.login_limiter = Limiter(self.server.login_per_minute, shared)
        self.sign_in_throttle = SignInThrottle() if shared is None else RedisSignInThrottle(shared)
        self.upload_limiter = Limiter(self.server.ui_uploads_per_minute, shared)
        self._last_clean = 0.0
        self.uploads_dir = settings.home / "uploads-in-progress"
        self._known_users: set[str] = set()  # user rows known to exist (delete_account forgets its own)
        self.role = role  # "web" serves and (under the local runner) runs jobs; "worker" is a Celery pool process
        self.runner: JobRunner = self._runner()
        self.dispatcher = None  # the post dispatcher (studio/publishing/dispatch.py), once started
        self.metrics_puller = None  # the post metrics puller (studio/analytics/metrics.py), started with it
        from studio.editing import Editing

        self.editing = Editing(self)
        from studio.ui_files import UiUploads

        self.ui_uploads = UiUploads(settings.home / "ui-uploads", ttl_s=self.server.ui_upload_ttl_s)

    def start(self) -> None:
        """Clear what a previous process left behind (a crash, a kill), then start taking jobs."""
        self.clean_leftovers()
        self.runner.start()
        # posts are dispatched, and their metrics pulled, here under the local runner; under celery by
        # `studio worker --beat`
        if self.server.jobs == "local" and self.server.publish.dispatch and self.auth is not None:
            from studio.analytics.metrics import MetricsPuller
            from studio.publishing.dispatch import Dispatcher

            self.dispatcher = Dispatcher(self)
            self.dispatcher.start()
            self.metrics_puller = MetricsPuller.for_hosted(self)
            self.metrics_puller.start()

    def stop(self) -> None:
        if self.metrics_puller is not None:
            self.metrics_puller.stop()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        self.runner.stop()

    def clean_leftovers(self, every_s: float = 0.0) -> None:
        """At start (``every_s`` 0): scratch folders of jobs (a re-queued job starts again from the beginning),
        half-received uploads and UI uploads nobody used within their time. While running (at most once per
        ``every_s``): the last two, sparing uploads still arriving."""
        if every_s and time.monotonic() - self._last_clean < every_s:
            return
        self._last_clean = time.monotonic()
        if not every_s:  # a job's scratch folder names its process: only a dead process's are left behind
            for path in self._scratch().glob("job-*"):
                pid = path.name.split("-")[1] if path.name.count("-") >= 2 else ""
                if not (pid.isdigit() and _alive(int(pid))):
                    shutil.rmtree(path, ignore_errors=True)
        if self.uploads_dir.is_dir():
            cutoff = time.time() - (3600 if every_s else 0)
            for path in self.uploads_dir.glob(".upload-*.part"):
                with contextlib.suppress(OSError):
                    if path.stat().st_mtime <= cutoff:
                        path.unlink()
        self.ui_uploads.sweep()

    def _runner(self) -> JobRunner:
        s = self.server
        store = JobStore(self.db, JobPolicy(lease_s=float(s.job_lease_s), max_attempts=s.job_max_attempts,
                                            user_max_running=s.user_max_running))
        if s.jobs == "celery":
            from studio.celery_jobs import CeleryJobRunner

            return CeleryJobRunner(store, s)
        return LocalJobRunner(store, self.run_job, workers=s.job_workers)

    @property
    def jobs(self) -> JobStore:
        return self.runner.store

    # analytics (studio/analytics): the dashboards read the Parquet exported under STUDIO_HOME/analytics
    @functools.cached_property
    def analytics(self):
        from studio.analytics.service import Analytics

        return Analytics(self.db, self.settings.home / "analytics")

    # publishing (studio/publishing): connected accounts, scheduled posts, the export bundle
    @functools.cached_property
    def token_box(self):
        from studio.publishing.secrets import TokenBox

        return TokenBox.for_settings(self.server.publish.token_key, self.settings.home)

    @functools.cached_property
    def connections(self):
        from studio.publishing.connections import Connections

        return Connections(self)

    @functools.cached_property
    def posts(self):
        from studio.publishing.posts import Posts

        return Posts(self)

    def submit(self, job_id: str) -> None:
        """Queue a job just recorded. If the queue cannot take it, the job and what it spent are undone, and the
        caller gets QueueUnavailable (HTTP 503 ``queue_unavailable``)."""
        try:
            self.runner.submit(job_id)
        except StudioError:
            with self.db.session() as s:
                job = s.get(Job, job_id)
                charge = list(job.charge or []) if job else []
                if job is not None:
                    s.delete(job)
            if charge:
                self.refund(*charge)
            raise

    def _auth(self) -> AuthProvider | None:
        mode = self.server.auth_mode
        if mode == "local":
            from studio.auth.local import LocalAuth

            return LocalAuth(self.db, self.secret, access_ttl_s=self.server.access_ttl_s,
                             refresh_ttl_s=self.server.refresh_ttl_s, refresh_grace_s=self.server.refresh_grace_s)
        if mode == "supabase":
            from studio.auth.supabase import SupabaseAuth

            return SupabaseAuth.from_settings(self.server)
        return None

    def _storage(self):
        if self.server.storage == "supabase":
            from studio.storage.supabase import SupabaseStorage

            return SupabaseStorage.from_settings(self.server)
        from studio.storage.local import LocalStorage

        return LocalStorage(self.settings.home / "media", self.secret)  # links are made absolute per request

    @property
    def upload_limits(self):
        from studio.api.uploads import Limits

        s = self.server
        return Limits(video=s.max_video_mb * 2**20, image=s.max_image_mb * 2**20, audio=s.max_audio_mb * 2**20)

    # accounts
    def ensure_user(self, who: Principal) -> None:
        """Supabase users exist first in Supabase; give them a row here on first sight. Neither a browser's parallel
        first requests (racing to insert the same row) nor an address another row already holds (an account deleted
        and made again in Supabase, a local account from before the switch) may fail the request."""
        if who.user_id in self._known_users:  # every API request asks: answer from memory after the first
            return
        placeholder = f"{who.user_id}@users.invalid"
        try:
            with self.db.session() as s:
                if s.get(User, who.user_id) is not None:
                    self._known_users.add(who.user_id)
                    return
                taken = bool(who.email) and s.scalar(select(User.id).where(User.email == who.email)) is not None
                s.add(User(id=who.user_id, email=who.email if who.email and not taken else placeholder, password_hash=None))
        except IntegrityError:
            with self.db.session() as s:
                if s.get(User, who.user_id) is None:
                    raise
        self._known_users.add(who.user_id)

    def account_templates(self, owner: str) -> dict[str, dict]:
        from studio.tables import AccountTemplate

        with self.db.session() as s:
            return {t.name: dict(t.fields) for t in s.scalars(select(AccountTemplate).where(
                AccountTemplate.owner_id == owner))}

    def studio_for(self, owner: str) -> Studio:
        """The studio as ``owner`` sees it: the built-in templates and the account's own."""
        return self.studio.for_account(self.account_templates(owner))

    # quotas
    def quota(self, subject: str, limit: int) -> Quota:
        with self.db.session() as s:
            used = s.scalar(select(QuotaCounter.used).where(QuotaCounter.subject == subject,
                                                            QuotaCounter.day == today()))
        return Quota(limit, int(used or 0))

    def spend(self, subject: str, limit: int, session=None, what: str = "short") -> None:
        """Take one short of today's quota, or raise quota_exceeded. Exact under any concurrency: the counter row is
        made if missing, then raised only while it is below the limit, in one conditional UPDATE (a row lock on
        PostgreSQL, the write lock on SQLite). Pass ``session`` to spend inside the caller's transaction."""
        if session is None:
            with self.db.session() as s:
                return self.spend(subject, limit, s, what)
        day = today()
        insert = (pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert)(QuotaCounter)
        session.execute(insert.values(subject=subject, day=day, used=0).on_conflict_do_nothing())
        took = session.execute(update(QuotaCounter).where(
            QuotaCounter.subject == subject, QuotaCounter.day == day, QuotaCounter.used < limit)
            .values(used=QuotaCounter.used + 1)).rowcount == 1
        if not took:
            tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            done = "made your {limit} shorts" if what == "short" else "used your {limit} re-renders"
            raise RateLimited(f"You have {done.format(limit=limit)} for today.", code="quota_exceeded",
                              retry_after=int((tomorrow - datetime.now(UTC)).total_seconds()) + 1,
                              hint="The quota resets at midnight UTC.")
        session.add(UsageEvent(subject=subject, kind=what))

    def refund(self, subject: str, day: str, session=None) -> None:
        """Give back one spent unit of ``day``'s quota (a job refused for its own input, found only while running, or
        cancelled before it started). Pass ``session`` to refund inside the caller's transaction."""
        if session is None:
            with self.db.session() as s:
                return self.refund(subject, day, s)
        session.execute(update(QuotaCounter).where(QuotaCounter.subject == subject, QuotaCounter.day == day,
                                                   QuotaCounter.used > 0).values(used=QuotaCounter.used - 1))

    # shorts
    def start_short(self, owner_id: str, request: dict, project_id: str | None, *,
                    quota: tuple[str, int] | None = None) -> str:
        """Spend one short of the quota (the account's, unless ``quota`` names another subject and limit, such as a
        visitor's address in the anonymous demo) and queue the job. The REST API and the UI both start work here."""
        subject, limit = quota or (f"user:{owner_id}", self.server.daily_shorts)
        job_id = self.new_job(owner_id, "short", {**request, "project_id": project_id}, subject, limit, "short")
        self.submit(job_id)
        return job_id

    def new_job(self, owner_id: str, kind: str, request: dict, subject: str, limit: int, what: str, *,
                batch: tuple[str, int] | None = None, session=None) -> str:
        """Spend one unit of ``subject``'s quota and record the job, in one transaction (or the caller's)."""
        if session is None:
            with self.db.session() as s:
                return self.new_job(owner_id, kind, request, subject, limit, what, batch=batch, session=s)
        self.spend(subject, limit, session, what)
        job = Job(owner_id=owner_id, kind=kind, request=request, charge=[subject, today()],
                  **({"batch_id": batch[0], "batch_row": batch[1]} if batch else {}))
        session.add(job)
        session.flush()
        self.jobs.noted(job.id, "queued", session)
        return job.id

    # the creator's controls of a job: the REST API's cancel and retry routes and the UI's buttons call these
    def cancel_job(self, owner: str, job_id: str) -> str:
        """Cancel one of ``owner``'s jobs. A queued job is cancelled at once and gives its quota back: nothing ran. A
        running one stops at its next stage and keeps nothing, but stays counted: its work was done, and a cancel
        that refunded it would let anyone render all day without a quota. Answers the status now (``cancelled``, or
        ``running`` until it stops); a finished job is a Conflict (``job_finished``)."""
        with self.db.session() as s:
            job = owned(s, Job, job_id, owner, "job")
            status = job.status
        if status not in UNFINISHED:
            raise Conflict(f"The job has already {status}; there is nothing to cancel.", code="job_finished")
        now = self.jobs.request_cancel(job_id)
        if now == "cancelled":
            self.runner.revoke(job_id)
            self.jobs.give_back(job_id)  # once per charge: the cancel that clears it gives it back
        return now

    def retry_job(self, owner: str, job_id: str, *, quota: tuple[str, int] | None = None) -> None:
        """Queue one of ``owner``'s failed or cancelled jobs again, from the beginning. What it spent is not spent
        again; a job whose quota was given back (cancelled before it started) spends one now, from ``quota``
        (subject, limit; by default the account's for the job's kind). Any other state is a Conflict
        (``job_not_retryable``). A queue that is down leaves the job queued: the sweeper sends it once it is back."""
        with self.db.session() as s:
            job = owned(s, Job, job_id, owner, "job")
            status, kind, charged = job.status, job.kind, job.charge is not None
        if status not in ("failed", "cancelled"):
            raise Conflict(f"The job is {status}; only a failed or cancelled job can be retried.",
                           code="job_not_retryable")
        if not charged:
            subject, limit = quota or ((f"renders:user:{owner}", self.server.daily_renders) if kind == "render"
                                       else (f"user:{owner}", self.server.daily_shorts))
            with contextlib.suppress(_ChargedMeanwhile), self.db.session() as s:
                self.spend(subject, limit, s, "render" if kind == "render" else "short")
                if not _changed(s, update(Job).where(Job.id == job_id, Job.charge.is_(None),
                                                     Job.status.in_(("failed", "cancelled")))
                                .values(charge=[subject, today()])):
                    raise _ChargedMeanwhile  # a second retry at the same moment charged it: this spend rolls back
        if not self.jobs.retry(job_id):  # another retry at the same moment queued it first
            raise Conflict("The job has just been queued again.", code="job_not_retryable")
        with contextlib.suppress(UpstreamUnavailable):
            self.runner.submit(job_id)

    def run_job(self, job_id: str, lease: Lease) -> None:
        """Run a job its worker has claimed (studio.jobs.execute records failures and cancels)."""
        with self.db.session() as s:
            job = s.get(Job, job_id)
            kind = job.kind if job is not None else None
        if kind == "render":
            self.editing.run_render_job(job_id, lease)
        else:
            self.run_short_job(job_id, lease)

    def run_short_job(self, job_id: str, lease: Lease) -> None:
        with self.db.session() as s:
            job = s.get(Job, job_id)
            saved = s.scalar(select(Short.id).where(Short.job_id == job_id))
            if saved is not None:  # a worker died after saving and before recording it: finish the record only
                self.jobs.succeed(s, job_id, saved)
                return
            owner, spec = job.owner_id, dict(job.request)
        work = self._work_dir()
        try:
            request = self._short_request(owner, spec, work)
            result = self._make(self.studio_for(owner), request, out_dir=work / "out", on_progress=lease.progress)
            lease.check()  # cancelled during the last stage: nothing is saved
            result = self.editing.adopt_media(owner, result)  # the saved timeline names the creator's assets, not paths
            short_id = self.save_short(owner, spec.get("project_id"), result, job_id=job_id)
            with self.db.session() as s:
                self.jobs.succeed(s, job_id, short_id, resolve_profile(result.timeline.profile))
                self.record_run(s, result, owner, job_id, short_id, spec)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def record_run(self, session, result: ShortResult, owner: str, job_id: str, short_id: str, request: dict) -> None:
        """The run's events (studio/analytics), in the transaction that records the job as done."""
        from studio.analytics.record import device_of, result_events, warned

        try:
            events = result_events(result, front=str(request.get("front") or "web"),
                                   device=device_of(result.timeline.profile), owner_id=owner, job_id=job_id,
                                   short_id=short_id, request=request)
        except Exception as exc:  # a bug in counting never fails the job: said once, as a warning
            warned(f"the run of job {job_id}", exc)
            return
        self.jobs.events.record_in(session.connection(), events)  # the database's own errors are the job's

    def delete_account(self, owner: str) -> dict:
        """Everything of ``owner`` in this studio: the platforms' access revoked (where they allow it), the user row
        and with it every project, short, asset, job, post, connection and experiment (their foreign keys cascade),
        the stored files no one else uses, and the analytics events (gone from the Parquet at the next export).
        Answers what was removed and which platforms could not be asked to revoke."""
        from studio.tables import Asset, Connection, User

        with self.db.session() as s:
            if s.get(User, owner) is None:
                raise NotFound("No such account.", code="user_not_found")
            keys = [k for (k,) in s.execute(select(Asset.storage_key).where(Asset.owner_id == owner))]
            for files in s.scalars(select(Short.files).where(Short.owner_id == owner)):
                keys += [f["key"] for f in files.values()]
            for files in s.scalars(select(ShortVersion.files).where(ShortVersion.owner_id == owner)):
                keys += [f["key"] for f in files.values()]
            connections = list(s.scalars(select(Connection.id).where(Connection.owner_id == owner)))
        not_revoked = []
        for connection_id in connections:  # revoke first: afterwards the tokens are gone with the row
            try:
                if not self.connections.delete(owner, connection_id).revoked:
                    not_revoked.append(connection_id)
            except Exception:  # a platform that is down must not keep an account alive
                log.warning("connection %s not revoked while deleting its account", connection_id, exc_info=True)
                not_revoked.append(connection_id)
        with self.db.session() as s:
            s.execute(delete(User).where(User.id == owner))
        self._known_users.discard(owner)
        events = self.analytics.forget_owner(owner)
        for key in dict.fromkeys(keys):
            self.delete_object_if_unused(key)
        return {"files": len(set(keys)), "events": events, "not_revoked": not_revoked}

    def _work_dir(self) -> Path:
        """A job's scratch folder, named by this process (its leftovers are cleared once the process is gone)."""
        return Path(tempfile.mkdtemp(prefix=f"job-{os.getpid()}-", dir=self._scratch()))

    def _scratch(self) -> Path:
        path = self.settings.home / "jobs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _short_request(self, owner: str, spec: dict, work: Path) -> ShortRequest:
        media = []
        voice_sample = music = None
        with self.db.session() as s:
            for i, asset_id in enumerate(spec.get("asset_ids") or []):
                asset = owned(s, Asset, asset_id, owner, "asset")
                media.append(self.storage.download(asset.storage_key, work / f"media-{i}"))
            if spec.get("voice_sample_asset_id"):
                asset = owned(s, Asset, spec["voice_sample_asset_id"], owner, "asset")
                voice_sample = self.storage.download(asset.storage_key, work / "voice-sample")
            if spec.get("music_asset_id"):
                asset = owned(s, Asset, spec["music_asset_id"], owner, "asset")
                music = self.storage.download(asset.storage_key, work / "music")
        return request_of(spec, tuple(media), voice_sample, music)

    def save_short(self, owner: str, project_id: str | None, result: ShortResult, *, job_id: str | None = None) -> str:
        """Move a finished short's files into the owner's storage and record it. Once per job: saving a job's short
        again (its process died before the job was marked done) answers the short already saved."""
        if job_id:
            with self.db.session() as s:
                saved = s.scalar(select(Short.id).where(Short.job_id == job_id))
            if saved is not None:
                return saved
        files = self.store_files(owner, result.files)
        import json

        title = str(json.loads(Path(result.post).read_text(encoding="utf-8")).get("title") or "")
        engines = {r.stage: r.engine for r in result.stages}
        try:
            with self.db.session() as s:
                if project_id:
                    owned(s, Project, project_id, owner, "project")
                doc = result.timeline.to_dict()
                short = Short(owner_id=owner, project_id=project_id, job_id=job_id, title=title[:300], files=files,
                              engines=engines, warnings={"items": list(result.warnings)}, version=1, draft=doc,
                              draft_rev=1)
                s.add(short)
                s.flush()
                s.add(ShortVersion(short_id=short.id, owner_id=owner, number=1, job_id=job_id, timeline=doc,
                                   files=files, formats={"items": list(result.run.formats) or ["9:16"]}))
                return short.id
        except IntegrityError:  # another worker saved this job's short first (shorts.job_id is unique)
            with self.db.session() as s:
                saved = s.scalar(select(Short.id).where(Short.job_id == job_id)) if job_id else None
            if saved is None:
                raise
            return saved

    def store_files(self, owner: str, paths) -> dict:
        """A result's files in the owner's storage: file name → {key, content_type, size}."""
        files = {}
        for path in map(Path, paths):
            ctype = _OUTPUT_TYPES.get(path.suffix, "application/octet-stream")
            obj = self.storage.put_file(owner, _copy(path), ctype, sha256_file(path))
            files[path.name] = {"key": obj.key, "content_type": ctype, "size": obj.size}
        return files

    def add_asset(self, owner: str, upload, project_id: str | None = None) -> Asset:
        """Store a checked upload (studio.api.uploads.Upload) as one of ``owner``'s assets."""
        try:
            if project_id:
                with self.db.session() as db:
                    owned(db, Project, project_id, owner, "project")
            obj = self.storage.put_file(owner, upload.path, upload.content_type, upload.sha256)
        finally:
            upload.path.unlink(missing_ok=True)
        with self.db.session() as db:
            asset = Asset(owner_id=owner, project_id=project_id, filename=upload.filename, kind=upload.kind,
                          content_type=upload.content_type, size=obj.size, sha256=upload.sha256, storage_key=obj.key,
                          meta=upload.meta)
            db.add(asset)
            db.flush()
            return asset

    def links(self, files: dict) -> dict:
        ttl = self.server.signed_url_ttl_s
        return {name: self.storage.signed_url(f["key"], expires_in=ttl, filename=name, content_type=f["content_type"])
                for name, f in files.items()}

    def delete_object_if_unused(self, key: str) -> None:
        with self.db.session() as s:
            in_assets = s.scalar(select(func.count()).select_from(Asset).where(Asset.storage_key == key))
            owner = key.split("/", 1)[0]  # keys are per owner: only their shorts can share the object
            shorts = s.scalars(select(Short.files).where(Short.owner_id == owner)).all() if not in_assets else []
            versions = (s.scalars(select(ShortVersion.files).where(ShortVersion.owner_id == owner)).all()
                        if not in_assets else [])
        if in_assets or any(f.get("key") == key for files in [*shorts, *versions] for f in files.values()):
            return
        self.storage.delete(key)


class _ChargedMeanwhile(Exception):
    pass


def _changed(session, statement) -> bool:
    """A conditional UPDATE changed its one row (the session is untyped: rowcount is on the cursor's result)."""
    return session.execute(statement).rowcount == 1


def _make(studio: Studio, request: ShortRequest, **kwargs) -> ShortResult:
    return studio.make(request, **kwargs)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _copy(path: Path) -> Path:
    """Storage takes ownership of the file it is given; hand it a copy so the result folder stays whole."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".store-")
    os.close(fd)
    shutil.copyfile(path, tmp)
    return Path(tmp)
