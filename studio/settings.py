"""The one place that reads configuration files and environment variables.

Everything below the studio receives plain values from here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import yaml

from models.errors import InvalidRequest
from pipelines.types import Language, Platform, SafeZone, Template, Voice

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def default_home() -> Path:
    """``$STUDIO_HOME``, else the per-user data folder (``$XDG_DATA_HOME/viral-ai-studio``)."""
    if os.environ.get("STUDIO_HOME"):
        return Path(os.environ["STUDIO_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "viral-ai-studio"


def _load(path: Path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _choose(kind: str, name: str, table: dict) -> dict:
    if name not in table:
        raise InvalidRequest(f"Unknown {kind} {name!r}.", f"Choose one of: {', '.join(table)}.")
    return table[name]


# Weights whose licence must be accepted before they are pulled or used (studio models accept NAME).
LICENCE_NOTICES = {
    "musicgen": ("MusicGen's weights (facebook/musicgen-small) are licensed CC-BY-NC-4.0: music made with them may "
                 "be used for non-commercial purposes only. A monetised account, a sponsored post or a client's "
                 "video is commercial use. The studio records this licence in each short's report.json and "
                 "post.json."),
}

AUTH_MODES = ("none", "local", "supabase")
STORAGE_KINDS = ("local", "supabase")
JOB_RUNNERS = ("local", "celery")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidRequest(f"{name}={raw!r} is not a whole number.", f"Set {name} to an integer, e.g. {default}.") from None


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(v.strip().rstrip("/") for v in os.environ.get(name, "").split(",") if v.strip())


@dataclass(frozen=True)
class PublishSettings:
    """Publishing (studio/publishing): the platforms' OAuth clients, where their APIs are, the token key, the
    dispatcher's pace. A platform without its client id and secret shows as "not configured", naming these."""

    token_key: str | None = field(default=None, repr=False)  # Fernet key(s), comma-separated, newest first
    public_url: str | None = None  # this studio's address as browsers reach it (OAuth redirect addresses)
    youtube_client_id: str | None = None
    youtube_client_secret: str | None = field(default=None, repr=False)
    # videos.insert calls one Google API project may make per day, counted per Pacific day (Google's reset). The
    # quota page (developers.google.com/youtube/v3/determine_quota_cost) gives the method its own bucket of 100 a day
    # by default; projects on the older scheme pay 1,600 of 10,000 units per upload (6 a day): set yours.
    youtube_daily_uploads: int = 100
    # where Google is: only tests (a local fake) change these
    youtube_api_url: str = "https://youtube.googleapis.com/"
    youtube_analytics_url: str = "https://youtubeanalytics.googleapis.com/"  # YouTube Analytics API v2 (post metrics)
    google_auth_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"
    google_revoke_url: str = "https://oauth2.googleapis.com/revoke"
    # YouTube takes a time to publish (private + publishAt), so its posts are uploaded this long ahead; the others
    # are posted at their time
    youtube_upload_ahead_h: float = 2.0
    dispatch: bool = True  # run the dispatcher inside `studio serve` (local runner); STUDIO_DISPATCH=0 turns it off
    dispatch_workers: int = 2  # posts uploaded at once by one dispatcher
    dispatch_every_s: float = 5.0  # how often the dispatcher looks for due posts
    post_lease_s: int = 120  # a claimed post's lease; its dispatcher renews it while uploading
    metrics_every_s: float = 300.0  # how often the metrics puller looks for posts due a snapshot (studio/analytics)
    upload_chunk_mb: float = 8.0  # resumable upload chunks, rounded down to a multiple of 256 KiB
    # Instagram (Instagram Login: an Instagram app's id and secret, from Meta's app dashboard)
    instagram_client_id: str | None = None
    instagram_client_secret: str | None = field(default=None, repr=False)
    instagram_auth_url: str = "https://www.instagram.com/oauth/authorize"
    instagram_token_url: str = "https://api.instagram.com/oauth/access_token"
    instagram_graph_url: str = "https://graph.instagram.com/v23.0"
    # Facebook Pages (Facebook Login: a Meta app's id and secret)
    facebook_client_id: str | None = None
    facebook_client_secret: str | None = field(default=None, repr=False)
    facebook_auth_url: str = "https://www.facebook.com/v23.0/dialog/oauth"
    facebook_graph_url: str = "https://graph.facebook.com/v23.0"  # its /oauth/access_token is the token endpoint
    # Facebook holds a Reel until scheduled_publish_time (10 minutes to 29 days ahead): posts are uploaded this long
    # before their time, as SCHEDULED
    facebook_upload_ahead_h: float = 1.0
    # TikTok (Content Posting API: the app's client key and secret)
    tiktok_client_key: str | None = None
    tiktok_client_secret: str | None = field(default=None, repr=False)
    tiktok_auth_url: str = "https://www.tiktok.com/v2/auth/authorize/"
    tiktok_api_url: str = "https://open.tiktokapis.com"  # /v2/oauth/token/, /v2/post/publish/...

    @classmethod
    def from_env(cls) -> PublishSettings:
        env = os.environ.get
        d = cls()
        return cls(token_key=env("STUDIO_TOKEN_KEY") or None,
                   public_url=(env("STUDIO_PUBLIC_URL") or "").rstrip("/") or None,
                   youtube_client_id=env("STUDIO_YOUTUBE_CLIENT_ID") or None,
                   youtube_client_secret=env("STUDIO_YOUTUBE_CLIENT_SECRET") or None,
                   youtube_daily_uploads=_env_int("STUDIO_YOUTUBE_DAILY_UPLOADS", d.youtube_daily_uploads),
                   youtube_api_url=env("STUDIO_YOUTUBE_API_URL") or d.youtube_api_url,
                   youtube_analytics_url=env("STUDIO_YOUTUBE_ANALYTICS_URL") or d.youtube_analytics_url,
                   google_auth_url=env("STUDIO_GOOGLE_AUTH_URL") or d.google_auth_url,
                   google_token_url=env("STUDIO_GOOGLE_TOKEN_URL") or d.google_token_url,
                   google_revoke_url=env("STUDIO_GOOGLE_REVOKE_URL") or d.google_revoke_url,
                   youtube_upload_ahead_h=float(env("STUDIO_YOUTUBE_UPLOAD_AHEAD_HOURS") or d.youtube_upload_ahead_h),
                   dispatch=env("STUDIO_DISPATCH", "1") not in ("0", "false", "no"),
                   dispatch_workers=_env_int("STUDIO_DISPATCH_WORKERS", d.dispatch_workers),
                   dispatch_every_s=float(env("STUDIO_DISPATCH_EVERY") or d.dispatch_every_s),
                   post_lease_s=_env_int("STUDIO_POST_LEASE_SECONDS", d.post_lease_s),
                   metrics_every_s=float(env("STUDIO_METRICS_EVERY") or d.metrics_every_s),
                   upload_chunk_mb=float(env("STUDIO_UPLOAD_CHUNK_MB") or d.upload_chunk_mb),
                   instagram_client_id=env("STUDIO_INSTAGRAM_CLIENT_ID") or None,
                   instagram_client_secret=env("STUDIO_INSTAGRAM_CLIENT_SECRET") or None,
                   instagram_auth_url=env("STUDIO_INSTAGRAM_AUTH_URL") or d.instagram_auth_url,
                   instagram_token_url=env("STUDIO_INSTAGRAM_TOKEN_URL") or d.instagram_token_url,
                   instagram_graph_url=(env("STUDIO_INSTAGRAM_GRAPH_URL") or d.instagram_graph_url).rstrip("/"),
                   facebook_client_id=env("STUDIO_FACEBOOK_CLIENT_ID") or None,
                   facebook_client_secret=env("STUDIO_FACEBOOK_CLIENT_SECRET") or None,
                   facebook_auth_url=env("STUDIO_FACEBOOK_AUTH_URL") or d.facebook_auth_url,
                   facebook_graph_url=(env("STUDIO_FACEBOOK_GRAPH_URL") or d.facebook_graph_url).rstrip("/"),
                   facebook_upload_ahead_h=float(env("STUDIO_FACEBOOK_UPLOAD_AHEAD_HOURS") or d.facebook_upload_ahead_h),
                   tiktok_client_key=env("STUDIO_TIKTOK_CLIENT_KEY") or None,
                   tiktok_client_secret=env("STUDIO_TIKTOK_CLIENT_SECRET") or None,
                   tiktok_auth_url=env("STUDIO_TIKTOK_AUTH_URL") or d.tiktok_auth_url,
                   tiktok_api_url=(env("STUDIO_TIKTOK_API_URL") or d.tiktok_api_url).rstrip("/"))


@dataclass(frozen=True)
class ServerSettings:
    """What ``studio serve`` needs: metadata, auth, storage, limits. Secrets come only from here (env), never from
    configs/ files, and are never printed (``repr`` hides them)."""

    auth_mode: str = "local"
    database_url: str | None = None  # None = SQLite file under STUDIO_HOME
    jwt_secret: str | None = field(default=None, repr=False)  # None = generated once and kept in STUDIO_HOME (0600)
    access_ttl_s: int = 15 * 60
    refresh_ttl_s: int = 7 * 24 * 3600
    storage: str = "local"
    supabase_url: str | None = None
    supabase_anon_key: str | None = field(default=None, repr=False)
    supabase_service_key: str | None = field(default=None, repr=False)
    supabase_jwt_secret: str | None = field(default=None, repr=False)  # legacy HS256 projects only
    supabase_bucket: str = "studio"
    max_video_mb: int = 100
    max_image_mb: int = 20
    max_audio_mb: int = 50
    daily_shorts: int = 20  # per account, per UTC day
    demo_daily_shorts: int = 5  # per IP, auth mode "none"
    daily_renders: int = 50  # re-renders of edited shorts, per account (per IP in the demo), per UTC day
    login_per_minute: int = 10  # per IP and per account, sign-in and sign-up
    signed_url_ttl_s: int = 3600
    job_workers: int = 1
    # jobs (studio/jobs.py): "local" runs them in this process, "celery" sends them to `studio worker` processes
    jobs: str = "local"
    redis_url: str | None = field(default=None, repr=False)  # the broker, and the shared limits under celery
    user_max_running: int = 2  # one creator's jobs running at once, across every worker
    job_lease_s: int = 60  # a running job's lease; its worker renews it, a sweeper takes over once it lapses
    job_max_attempts: int = 3  # starts of one job (crashed workers included) before it is failed for good
    job_longest_s: int = 6 * 3600  # the longest a job may run: Redis' visibility timeout is set above it
    secure_cookies: bool = False  # set on for HTTPS deployments
    # a page load sends several requests with the same expired session at once: each redemption of one refresh token
    # within this many seconds gets the same successor; a redemption after it revokes the session (token theft)
    refresh_grace_s: int = 10
    ui_upload_ttl_s: int = 6 * 3600  # files uploaded in the UI and not used in a short are deleted after this
    ui_upload_quota_mb: int = 500  # UI uploads one owner may have waiting at once
    max_body_kb: int = 1024  # any request body but an upload's
    ui_uploads_per_minute: int = 60  # UI upload requests per minute per address
    cors_origins: tuple[str, ...] = ()  # other sites allowed to call the API from a browser; none by default
    # connection deadlines (studio/serving.py): headers, a stalled body, a body slower than body_min_rate bytes/s
    header_timeout_s: int = 10
    body_idle_timeout_s: int = 20
    body_grace_s: int = 10
    body_min_rate: int = 1024
    # addresses of reverse proxies whose X-Forwarded-For / -Proto are believed ("*" = any); none = the socket's peer
    trusted_proxies: tuple[str, ...] = ()
    frame_ancestors: str = "'self'"  # who may show the pages in a frame (CSP frame-ancestors)
    publish: PublishSettings = field(default_factory=PublishSettings)

    @classmethod
    def from_env(cls, auth_mode: str | None = None) -> ServerSettings:
        env = os.environ.get
        mode = auth_mode or env("STUDIO_AUTH", "local")
        if mode not in AUTH_MODES:
            raise InvalidRequest(f"Unknown auth mode {mode!r}.", f"Set STUDIO_AUTH to one of: {', '.join(AUTH_MODES)}.")
        storage = env("STUDIO_STORAGE", "supabase" if mode == "supabase" else "local")
        if storage not in STORAGE_KINDS:
            raise InvalidRequest(f"Unknown storage {storage!r}.", f"Set STUDIO_STORAGE to one of: {', '.join(STORAGE_KINDS)}.")
        jobs = env("STUDIO_JOBS", "local")
        if jobs not in JOB_RUNNERS:
            raise InvalidRequest(f"Unknown job runner {jobs!r}.", f"Set STUDIO_JOBS to one of: {', '.join(JOB_RUNNERS)}.")
        if jobs == "celery" and not env("STUDIO_REDIS_URL"):
            raise InvalidRequest("STUDIO_JOBS=celery needs a Redis to queue the jobs on.",
                                 "Set STUDIO_REDIS_URL, e.g. redis://127.0.0.1:6379/0.")
        s = cls(auth_mode=mode, database_url=env("STUDIO_DATABASE_URL") or None, jwt_secret=env("STUDIO_JWT_SECRET") or None,
                access_ttl_s=_env_int("STUDIO_ACCESS_TTL", 15 * 60), refresh_ttl_s=_env_int("STUDIO_REFRESH_TTL", 7 * 24 * 3600),
                storage=storage, supabase_url=(env("SUPABASE_URL") or "").rstrip("/") or None,
                supabase_anon_key=env("SUPABASE_ANON_KEY") or env("SUPABASE_KEY") or None,
                supabase_service_key=env("SUPABASE_SERVICE_ROLE_KEY") or None,
                supabase_jwt_secret=env("SUPABASE_JWT_SECRET") or None,
                supabase_bucket=env("STUDIO_SUPABASE_BUCKET", "studio"),
                max_video_mb=_env_int("STUDIO_MAX_VIDEO_MB", 100), max_image_mb=_env_int("STUDIO_MAX_IMAGE_MB", 20),
                max_audio_mb=_env_int("STUDIO_MAX_AUDIO_MB", 50), daily_shorts=_env_int("STUDIO_DAILY_SHORTS", 20),
                demo_daily_shorts=_env_int("STUDIO_DEMO_DAILY_SHORTS", 5),
                daily_renders=_env_int("STUDIO_DAILY_RENDERS", 50),
                login_per_minute=_env_int("STUDIO_LOGIN_PER_MINUTE", 10),
                signed_url_ttl_s=_env_int("STUDIO_SIGNED_URL_TTL", 3600), job_workers=_env_int("STUDIO_JOB_WORKERS", 1),
                jobs=jobs, redis_url=env("STUDIO_REDIS_URL") or None,
                user_max_running=_env_int("STUDIO_USER_MAX_RUNNING", 2),
                job_lease_s=_env_int("STUDIO_JOB_LEASE_SECONDS", 60),
                job_max_attempts=_env_int("STUDIO_JOB_MAX_ATTEMPTS", 3),
                job_longest_s=_env_int("STUDIO_JOB_LONGEST_SECONDS", 6 * 3600),
                secure_cookies=env("STUDIO_SECURE_COOKIES", "") in ("1", "true", "yes"),
                refresh_grace_s=_env_int("STUDIO_REFRESH_GRACE", 10),
                ui_upload_ttl_s=_env_int("STUDIO_UI_UPLOAD_TTL", 6 * 3600),
                ui_upload_quota_mb=_env_int("STUDIO_UI_UPLOAD_QUOTA_MB", 500),
                max_body_kb=_env_int("STUDIO_MAX_BODY_KB", 1024),
                ui_uploads_per_minute=_env_int("STUDIO_UI_UPLOADS_PER_MINUTE", 60),
                cors_origins=_env_list("STUDIO_CORS_ORIGINS"),
                header_timeout_s=_env_int("STUDIO_HEADER_TIMEOUT", 10),
                body_idle_timeout_s=_env_int("STUDIO_BODY_IDLE_TIMEOUT", 20),
                body_grace_s=_env_int("STUDIO_BODY_GRACE", 10), body_min_rate=_env_int("STUDIO_BODY_MIN_RATE", 1024),
                trusted_proxies=_env_list("STUDIO_TRUSTED_PROXIES"),
                frame_ancestors=env("STUDIO_FRAME_ANCESTORS", "'self'"), publish=PublishSettings.from_env())
        if "supabase" in (mode, storage) and not (s.supabase_url and s.supabase_anon_key):
            raise InvalidRequest("Supabase is switched on but not configured.",
                                 "Set SUPABASE_URL and SUPABASE_ANON_KEY (and SUPABASE_SERVICE_ROLE_KEY for Storage).")
        return s


@dataclass
class Settings:
    home: Path
    configs: Path = CONFIGS
    x264_preset: str = "veryfast"
    x264_crf: int = 21
    model_budget_gb: float | None = None  # resident model weights; None = no limit
    server: ServerSettings = field(default_factory=lambda: ServerSettings())
    # stock photo libraries' API keys (the stills stage's `stock` engine); secrets, never printed
    pexels_key: str | None = field(default=None, repr=False)
    pixabay_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, home: Path | None = None) -> Settings:
        return cls(
            home=Path(home) if home else default_home(),
            configs=Path(os.environ["STUDIO_CONFIGS"]) if os.environ.get("STUDIO_CONFIGS") else CONFIGS,
            x264_preset=os.environ.get("STUDIO_X264_PRESET", "veryfast"),
            x264_crf=int(os.environ.get("STUDIO_X264_CRF", "21")),
            model_budget_gb=float(os.environ["STUDIO_MODEL_BUDGET_GB"]) if os.environ.get("STUDIO_MODEL_BUDGET_GB")
            else None,
            server=ServerSettings.from_env(),
            pexels_key=os.environ.get("STUDIO_PEXELS_KEY") or None,
            pixabay_key=os.environ.get("STUDIO_PIXABAY_KEY") or None,
        )

    @property
    def model_budget_bytes(self) -> int | None:
        return None if self.model_budget_gb is None else int(self.model_budget_gb * 2**30)

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def licences_file(self) -> Path:
        return self.home / "licences.json"

    @property
    def accepted_licences(self) -> tuple[str, ...]:
        """Model licences the person running this studio accepted (``studio models accept NAME``, or the UI's
        first-run panel): read fresh each time, so an acceptance counts at once. ``STUDIO_ACCEPT_LICENCES``
        (comma-separated) accepts them for a deployment."""
        import json

        names = set(_env_list("STUDIO_ACCEPT_LICENCES"))
        try:
            names |= set(json.loads(self.licences_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            pass
        return tuple(sorted(names))

    def accept_licence(self, name: str) -> None:
        """Record that the licence of ``name``'s weights was accepted (when, and the notice shown)."""
        import json
        import time

        try:
            data = json.loads(self.licences_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        data[name] = {"accepted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "notice": LICENCE_NOTICES[name]}
        self.licences_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.licences_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.replace(self.licences_file)

    @cached_property
    def piper_voices(self) -> dict:
        """The Piper voices the presets name: label, licence, where they come from (configs/piper_voices.yaml)."""
        return _load(self.configs / "piper_voices.yaml")

    @property
    def outputs_dir(self) -> Path:
        return self.home / "outputs"

    @cached_property
    def platforms(self) -> dict:
        return {k: v for k, v in _load(self.configs / "platforms.yaml").items() if k != "formats"}

    @cached_property
    def formats(self) -> dict:
        """Feed formats a short can be exported in ("9:16", "1:1", "4:5", "16:9"): size and safe zone."""
        return _load(self.configs / "platforms.yaml").get("formats") or {"9:16": {"label": "Vertical 9:16"}}

    def parse_formats(self, text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """"9:16,1:1" (or a list) → the formats in order, each once; an unknown one is refused, naming the choices."""
        items = [f.strip() for f in (text.split(",") if isinstance(text, str) else text) if f.strip()]
        unknown = [f for f in items if f not in self.formats]
        if unknown or not items:
            raise InvalidRequest(f"Unknown format {unknown[0]!r}." if unknown else "Name at least one format.",
                                 f"Choose from: {', '.join(self.formats)}.")
        return tuple(dict.fromkeys(items))

    def with_account_templates(self, account: dict[str, dict]) -> Settings:
        """These settings with a hosted account's own templates beside the built-in ones (a shallow copy)."""
        from studio import templates

        copy = replace(self)
        copy.__dict__["templates"] = templates.load(self.configs, self.user_templates_dir, account)
        return copy

    @property
    def user_templates_dir(self) -> Path:
        return self.home / "templates"

    @cached_property
    def templates(self) -> dict:
        from studio import templates

        return templates.load(self.configs, self.user_templates_dir)

    @cached_property
    def voices(self) -> dict:
        return _load(self.configs / "voices.yaml")

    @cached_property
    def languages(self) -> dict:
        return _load(self.configs / "languages.yaml")

    def profile_names(self) -> list[str]:
        return sorted(p.stem for p in (self.configs / "profiles").glob("*.yaml"))

    def profile(self, name: str) -> dict:
        path = self.configs / "profiles" / f"{name}.yaml"
        if name == "auto":
            raise InvalidRequest("Resolve 'auto' to gpu or cpu before reading the profile.")
        if not path.is_file() or "/" in name:
            names = ["auto", *self.profile_names()]
            raise InvalidRequest(f"Unknown profile {name!r}.", f"Choose one of: {', '.join(names)}.")
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)

    def platform(self, name: str, aspect: str = "9:16") -> Platform:
        """A platform's preset, in its own vertical frame or in another feed format (its size and safe zone)."""
        p = _choose("platform", name, self.platforms)
        platform = Platform(name=name, label=p["label"], width=p["width"], height=p["height"], fps=p["fps"],
                            min_seconds=p["min_seconds"], max_seconds=p["max_seconds"],
                            safe_zone=SafeZone(**p["safe_zone"]), caption_max_chars=p["caption_max_chars"],
                            hashtags_max=p["hashtags_max"], title_max_chars=p["title_max_chars"])
        if aspect == "9:16":
            return platform
        f = self.formats.get(aspect)
        if f is None:
            raise InvalidRequest(f"Unknown format {aspect!r}.", f"Choose from: {', '.join(self.formats)}.")
        return replace(platform, width=f["width"], height=f["height"], safe_zone=SafeZone(**f["safe_zone"]),
                       aspect=aspect)

    def template(self, name: str) -> Template:
        t = _choose("template", name, self.templates)
        return Template(name=name, label=t["label"], palette=tuple(t["palette"]), caption_color=t["caption_color"],
                        highlight_color=t["highlight_color"], outline_color=t["outline_color"],
                        font_size=t["font_size"], hook_font_size=t["hook_font_size"],
                        words_per_cue=t["words_per_cue"], music_bpm=t["music"]["bpm"], music_mood=t["music"]["mood"],
                        music_level_db=t["music"]["level_db"], font=t.get("font"), version=t["version"],
                        caption_position=t["caption_position"], caption_animation=t["caption_animation"],
                        uppercase=bool(t.get("uppercase", False)))

    def language(self, code: str) -> Language:
        return Language(code=code, font=_choose("language", code, self.languages)["font"])

    def voice(self, name: str, language: str) -> Voice:
        v = _choose("voice", name, self.voices)
        lang = _choose("language", language, self.languages)
        return Voice(name=name, engine_voice=f"{lang['espeak']}+{v['espeak_variant']}", pitch=v["pitch"],
                     rate_wpm=v["rate_wpm"], coqui_speaker=v.get("coqui_speaker"),
                     piper_voice=(v.get("piper") or {}).get(language))
