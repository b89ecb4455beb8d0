"""The metadata schema (SQLAlchemy 2). Alembic migrations in studio/migrations create it; every row that a
creator owns carries ``owner_id`` and every query for it filters on that column."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # None for Supabase accounts
    created_at: Mapped[datetime] = mapped_column(default=now)


class RefreshToken(Base):
    """Only the SHA-256 of a refresh token is kept. Tokens rotate: each is used once; presenting a used one
    revokes its whole family (the signs of a stolen token)."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=now)


class Asset(Base):
    __tablename__ = "assets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # for display and downloads only; never part of a path
    kind: Mapped[str] = mapped_column(String(16))  # image | video | audio
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300), index=True)
    meta: Mapped[dict] = mapped_column(default=dict)  # width, height, seconds
    created_at: Mapped[datetime] = mapped_column(default=now)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_owner_status", "owner_id", "status"),)  # the running cap counts these
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="short")
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued|running|succeeded|failed|cancelled
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stage: Mapped[str] = mapped_column(String(32), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    request: Mapped[dict] = mapped_column(default=dict)
    error: Mapped[dict | None] = mapped_column(JSON)
    short_id: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # scale-out (studio/jobs.py): the queue it was sent to, who holds it and until when, a cancel asked for while it
    # runs, the profile its worker ran, the quota it spent ([subject, day]) and the batch row it came from
    queue: Mapped[str] = mapped_column(String(16), default="cpu")
    worker: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None]
    enqueued_at: Mapped[datetime | None]
    task_id: Mapped[str | None] = mapped_column(String(80))  # the message last sent for it (Celery)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    profile: Mapped[str | None] = mapped_column(String(32))
    charge: Mapped[list | None] = mapped_column(JSON)
    batch_id: Mapped[str | None] = mapped_column(String(32), index=True)
    batch_row: Mapped[int | None] = mapped_column(Integer)


class Batch(Base):
    """Shorts queued together (``studio batch``, ``POST /api/batches``): one job per good row; ``refused`` keeps the
    rows that were not queued, with their reasons, for the summary."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[dict] = mapped_column(default=dict)  # {"items": [{"row", "errors"}]}
    created_at: Mapped[datetime] = mapped_column(default=now)


class Worker(Base):
    """A worker process as it last reported itself: its queues, the jobs it finished and the models it loaded."""

    __tablename__ = "workers"
    id: Mapped[str] = mapped_column(String(120), primary_key=True)  # node:pid
    node: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))  # main | child
    queues: Mapped[str] = mapped_column(String(100), default="")
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=now)
    seen_at: Mapped[datetime] = mapped_column(default=now)
    jobs_done: Mapped[int] = mapped_column(Integer, default=0)
    loads: Mapped[dict] = mapped_column(default=dict)  # model → loads in this process
    rss_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    info: Mapped[dict] = mapped_column(default=dict)


class Short(Base):
    __tablename__ = "shorts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    job_id: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)  # one short per job
    title: Mapped[str] = mapped_column(String(300), default="")
    files: Mapped[dict] = mapped_column(default=dict)  # file name → {key, content_type, size}
    engines: Mapped[dict] = mapped_column(default=dict)  # stage → engine
    warnings: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now)
    # editing: ``files`` are those of version ``version``; ``draft`` is the timeline the next render starts from,
    # and ``draft_rev`` rises with every saved edit (the ETag an edit must name)
    version: Mapped[int] = mapped_column(Integer, default=0)
    draft: Mapped[dict | None] = mapped_column(JSON)
    draft_rev: Mapped[int] = mapped_column(Integer, default=0)


class ShortVersion(Base):
    """Every render of a short: its timeline as rendered and its files. Restoring one makes it current again."""

    __tablename__ = "short_versions"
    __table_args__ = (UniqueConstraint("short_id", "number", name="uq_short_versions_number"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    short_id: Mapped[str] = mapped_column(ForeignKey("shorts.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    job_id: Mapped[str | None] = mapped_column(String(32), unique=True)  # one version per render job
    timeline: Mapped[dict] = mapped_column(default=dict)
    files: Mapped[dict] = mapped_column(default=dict)
    formats: Mapped[dict] = mapped_column(default=dict)  # {"items": ["9:16", "1:1", ...]}
    created_at: Mapped[datetime] = mapped_column(default=now)


class AccountTemplate(Base):
    """A hosted account's own template (its fields as sent; ``extends`` may name a built-in or another of its own)."""

    __tablename__ = "account_templates"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_account_templates_name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class UsageEvent(Base):
    """One row per metered action (a short started); quotas count these, so deleting a short frees nothing."""

    __tablename__ = "usage_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(100), index=True)  # "user:<id>" or "ip:<address>"
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=now, index=True)


class QuotaCounter(Base):
    """Shorts spent per subject per UTC day. Spending is one conditional UPDATE (``used < limit``), so concurrent
    requests can never take more than the quota, on SQLite or PostgreSQL."""

    __tablename__ = "quota_counters"
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    used: Mapped[int] = mapped_column(Integer, default=0)


class Connection(Base):
    """A creator's account on a platform, connected through OAuth 2 (studio/publishing). ``token`` is the token set
    encrypted with the studio's token key (studio/publishing/secrets.py); ``status`` is ``active`` or
    ``needs_reconnect`` (a refresh was refused: the creator revoked the studio, or the token expired for good)."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("owner_id", "platform", "account_id", name="uq_connections_account"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(200))  # the platform's id for the account (a YouTube channel id)
    name: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    token: Mapped[str] = mapped_column(Text, default="")  # encrypted JSON: access_token, refresh_token, expires_at
    token_version: Mapped[int] = mapped_column(Integer, default=0)  # raised by every refresh (a conditional UPDATE)
    expires_at: Mapped[datetime | None]
    info: Mapped[dict] = mapped_column(default=dict)  # what the platform said of the account (its link, its project)
    slots: Mapped[list] = mapped_column(JSON, default=list)  # preset posting times, "HH:MM" in the creator's zone
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)


class OAuthState(Base):
    """One connect attempt: its ``state`` (kept as a SHA-256), whose it is, the PKCE verifier (encrypted) and the
    browser it was started in. Used once: a second callback with the same state is refused."""

    __tablename__ = "oauth_states"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    verifier: Mapped[str] = mapped_column(Text, default="")  # encrypted; empty where the platform has no PKCE
    browser_hash: Mapped[str] = mapped_column(String(64), default="")
    return_to: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    used_at: Mapped[datetime | None]


class Post(Base):
    """A short scheduled to a connected account (or for posting by hand). ``local_time`` and ``timezone`` are what the
    creator chose; ``publish_at`` is that wall time in UTC, so 09:00 Europe/Berlin stays 09:00 across a DST change.

    Status: ``scheduled`` → ``claimed`` (a dispatcher holds it, ``lease_until``) → ``publishing`` (the platform's
    ``handle`` is saved: from here it is only ever checked through that handle, never started again) → ``posted``,
    ``failed``, ``unconfirmed`` (the outcome could not be checked: the creator is asked to look) or ``cancelled``."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("owner_id", "idempotency_key", name="uq_posts_idempotency"),
                      Index("ix_posts_due", "status", "publish_at"))
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    short_id: Mapped[str] = mapped_column(ForeignKey("shorts.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[str | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    publish_at: Mapped[datetime]
    local_time: Mapped[str] = mapped_column(String(16))  # YYYY-MM-DDTHH:MM, in ``timezone``
    timezone: Mapped[str] = mapped_column(String(64))
    text: Mapped[dict] = mapped_column(default=dict)  # title, caption, hashtags
    options: Mapped[dict] = mapped_column(default=dict)  # privacy, made_for_kids, synthetic_media, ...
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64), default="")  # of the body sent with the idempotency key
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    next_try_at: Mapped[datetime | None]
    handle: Mapped[dict] = mapped_column(default=dict)  # the platform's handle, saved before the irreversible step
    result: Mapped[dict] = mapped_column(default=dict)  # the platform's id and link once posted
    message: Mapped[str] = mapped_column(Text, default="")  # why it waits, failed, or is unconfirmed, in plain words
    error_code: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[datetime] = mapped_column(default=now)
    updated_at: Mapped[datetime] = mapped_column(default=now)
    posted_at: Mapped[datetime | None]


# -- analytics (docs/analytics.md) ---------------------------------------------------------------------------------

# BIGINT on PostgreSQL; SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY
RowId = BigInteger().with_variant(Integer(), "sqlite")


class EventRow(Base):
    """One event (a run, a stage, a job state change, a publish attempt), appended by any process. ``export_batch`` is
    the exporter's claim (studio/analytics/export.py): NULL until a batch takes the row. No foreign keys: deleting an
    account or a short deletes its events explicitly (``EventStore.forget``), so the next export removes them."""

    __tablename__ = "events"
    # (export_batch, id) serves both the claim (NULL, lowest ids first) and the read of one batch in id order
    __table_args__ = (Index("ix_events_export_batch", "export_batch", "id"),)
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime]
    day: Mapped[str] = mapped_column(String(10))  # at's UTC date, YYYY-MM-DD
    kind: Mapped[str] = mapped_column(String(16))  # run | stage | job | publish
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    run_id: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(64))
    short_id: Mapped[str | None] = mapped_column(String(64), index=True)
    post_id: Mapped[str | None] = mapped_column(String(64), index=True)
    platform: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(64))
    engine: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str | None] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(80))
    seconds: Mapped[float | None] = mapped_column(Float)
    calls: Mapped[int | None] = mapped_column(Integer)
    hits: Mapped[int | None] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(default=dict)
    export_batch: Mapped[int | None] = mapped_column(BigInteger)


class MetricSnapshotRow(Base):
    """A post's lifetime numbers as one source reported them at ``taken_at``; a number not reported is NULL, never 0.
    ``snapshot_id`` (``post_ref|source|taken_at``) makes an import that runs twice store nothing twice."""

    __tablename__ = "metric_snapshots"
    __table_args__ = (Index("ix_metric_snapshots_export_batch", "export_batch", "id"),)
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    snapshot_id: Mapped[str] = mapped_column(String(400), unique=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True)
    post_id: Mapped[str | None] = mapped_column(String(64), index=True)
    short_id: Mapped[str | None] = mapped_column(String(64), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    remote_id: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32))
    taken_at: Mapped[datetime]
    posted_at: Mapped[datetime | None]
    day: Mapped[str] = mapped_column(String(10))  # taken_at's UTC date
    hours: Mapped[float | None] = mapped_column(Float)
    views: Mapped[int | None] = mapped_column(BigInteger)
    likes: Mapped[int | None] = mapped_column(BigInteger)
    comments: Mapped[int | None] = mapped_column(BigInteger)
    shares: Mapped[int | None] = mapped_column(BigInteger)
    saves: Mapped[int | None] = mapped_column(BigInteger)
    reach: Mapped[int | None] = mapped_column(BigInteger)
    engaged_views: Mapped[int | None] = mapped_column(BigInteger)
    subscribers: Mapped[int | None] = mapped_column(BigInteger)
    avg_view_seconds: Mapped[float | None] = mapped_column(Float)
    avg_view_ratio: Mapped[float | None] = mapped_column(Float)
    watch_seconds: Mapped[float | None] = mapped_column(Float)
    retention: Mapped[list | None] = mapped_column(JSON(none_as_null=True))  # [[elapsed ratio, watch ratio], ...]
    duration: Mapped[float | None] = mapped_column(Float)
    export_batch: Mapped[int | None] = mapped_column(BigInteger)


class AnalyticsExport(Base):
    """One exporter batch: its id is the ``export_batch`` it claimed rows with and the ``b<id>_`` in its Parquet file
    names. ``finished_at`` stays NULL until the files are in place, so a batch whose exporter died is written again."""

    __tablename__ = "analytics_exports"
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(default=now)
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    events: Mapped[int] = mapped_column(Integer, default=0)
    snapshots: Mapped[int] = mapped_column(Integer, default=0)


class AnalyticsDeletion(Base):
    """An account's or a short's analytics deleted from the tables; the exporter rewrites the Parquet files that held
    its rows, then sets ``done_at``."""

    __tablename__ = "analytics_deletions"
    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    owner_id: Mapped[str | None] = mapped_column(String(64))
    short_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now)
    done_at: Mapped[datetime | None] = mapped_column(index=True)


class Experiment(Base):
    """An A/B test: one short posted as two or three variants. ``variants`` is
    ``{"items": [{"label": "A", "short_id": ...}, ...]}``; ``alpha`` is the level the sequential test holds."""

    __tablename__ = "experiments"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    variants: Mapped[dict] = mapped_column(default=dict)
    alpha: Mapped[float] = mapped_column(Float, default=0.05)
    created_at: Mapped[datetime] = mapped_column(default=now)
