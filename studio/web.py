"""``studio serve``: one FastAPI app with the REST API, a sign-in page and the Gradio UI at /studio, all behind
the same authentication. Also the account hooks the UI uses (quotas, saving shorts, "My projects")."""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pipelines.types import ShortResult
from studio.api.app import create_api
from studio.api.auth_routes import clear_session_cookies
from studio.api.deps import ACCESS_COOKIE, REFRESH_COOKIE
from studio.auth.base import Principal
from studio.errors import ApiError
from studio.hosted import Hosted
from studio.settings import Settings
from studio.tables import Project, Short

UI_PATH = "/studio"
_STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class Account:
    """What the UI knows of the caller: a signed-in creator, or an anonymous visitor known by IP (auth ``none``)."""

    user: Principal | None
    ip: str


class AccountHooks:
    """The UI's link to accounts. The UI calls these; they call the hosted services."""

    def __init__(self, hosted: Hosted) -> None:
        self.hosted = hosted

    @property
    def accounts_on(self) -> bool:
        return self.hosted.auth is not None

    def account(self, username: str | None, ip: str) -> Account:
        """``username`` is what the auth dependency returned for this browser: our user id, or None."""
        from studio.tables import User

        if not username or self.hosted.auth is None:
            return Account(None, ip)
        with self.hosted.db.session() as db:
            user = db.get(User, username)
        return Account(Principal(username, user.email if user else ""), ip)

    def before_make(self, who: Account) -> None:
        """Spend one short of today's quota: the account's, or the IP's in the anonymous demo."""
        s = self.hosted.server
        if who.user:
            self.hosted.spend(f"user:{who.user.user_id}", s.daily_shorts)
        else:
            self.hosted.spend(f"ip:{who.ip}", s.demo_daily_shorts)

    def after_make(self, who: Account, result: ShortResult, project: str = "") -> str | None:
        if who.user is None:
            return None
        project_id = self._project_named(who.user.user_id, project) if project.strip() else None
        return self.hosted.save_short(who.user.user_id, project_id, result)

    def quota_text(self, who: Account) -> str:
        s = self.hosted.server
        if who.user:
            q = self.hosted.quota(f"user:{who.user.user_id}", s.daily_shorts)
            return f"Signed in as **{html.escape(who.user.email)}** · {q.remaining} of {q.limit} shorts left today"
        q = self.hosted.quota(f"ip:{who.ip}", s.demo_daily_shorts)
        return f"Anonymous demo · {q.remaining} of {q.limit} shorts left today from this address"

    def my_shorts(self, who: Account) -> list[dict]:
        from sqlalchemy import select

        if who.user is None:
            return []
        with self.hosted.db.session() as db:
            names = {p.id: p.name for p in db.scalars(select(Project).where(Project.owner_id == who.user.user_id))}
            rows = db.scalars(select(Short).where(Short.owner_id == who.user.user_id).order_by(Short.created_at.desc()))
            return [{"id": s.id, "created": s.created_at.strftime("%Y-%m-%d %H:%M"), "title": s.title,
                     "project": names.get(s.project_id, ""), "files": s.files} for s in rows]

    def short_files(self, who: Account, short_id: str, folder: Path) -> dict[str, Path]:
        """Copy one of the caller's shorts into ``folder`` for the UI to show; NotFound for anyone else's."""
        from studio.db import owned

        with self.hosted.db.session() as db:
            short = owned(db, Short, short_id, who.user.user_id if who.user else "", "short")
            files = dict(short.files)
        folder.mkdir(parents=True, exist_ok=True)
        return {name: self.hosted.storage.download(f["key"], folder / name) for name, f in files.items()}

    def _project_named(self, owner: str, name: str) -> str:
        from sqlalchemy import select

        name = name.strip()[:200]
        with self.hosted.db.session() as db:
            p = db.scalar(select(Project).where(Project.owner_id == owner, Project.name == name))
            if p is None:
                p = Project(owner_id=owner, name=name)
                db.add(p)
                db.flush()
            return p.id


class _Redact(logging.Filter):
    """Signed links and OAuth codes are credentials: keep them out of the access log."""

    _PATTERNS = (re.compile(r"(/files/)[^\s?\"]+"), re.compile(r"([?&](?:code|token|refresh_token)=)[^&\s\"]+"))

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) if isinstance(a, str) else a for a in record.args)
        return True

    def _clean(self, text: str) -> str:
        for pattern in self._PATTERNS:
            text = pattern.sub(r"\1[redacted]", text)
        return text


def redact_access_log() -> None:
    logging.getLogger("uvicorn.access").addFilter(_Redact())


def create_server(settings: Settings, *, with_ui: bool = True) -> FastAPI:
    hosted = Hosted(settings)
    app = create_api(hosted)

    def who_is(request: Request) -> Principal | None:
        if hosted.auth is None:
            return None
        cached = request.scope.setdefault("state", {}).get("studio_user")
        if cached:
            return cached
        token = request.cookies.get(ACCESS_COOKIE)
        if not token:
            return None
        try:
            return hosted.auth.verify(token)
        except ApiError:
            return None

    @app.middleware("http")
    async def keep_browser_signed_in(request: Request, call_next):
        """Browsers carry the session in httpOnly cookies; when the access cookie has expired, rotate the refresh
        cookie here so the UI keeps working, and send a visitor with no session to the sign-in page."""
        if hosted.auth is None or not request.url.path.startswith(UI_PATH):
            return await call_next(request)
        fresh = None
        user = who_is(request)
        if user is None and request.cookies.get(REFRESH_COOKIE):
            try:
                fresh = hosted.auth.refresh(request.cookies[REFRESH_COOKIE])
                user = fresh.user
            except ApiError:
                user = None
        if user is None and request.method == "GET" and request.url.path.rstrip("/") == UI_PATH:
            out = RedirectResponse("/login", status_code=303)
            clear_session_cookies(out)
            return out
        request.scope.setdefault("state", {})["studio_user"] = user
        response = await call_next(request)
        if fresh is not None:
            from studio.api.auth_routes import set_session_cookies

            set_session_cookies(request, response, fresh)
        return response

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse(UI_PATH + "/", status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_page() -> Response:
        if hosted.auth is None:
            return RedirectResponse(UI_PATH + "/", status_code=303)
        return HTMLResponse((_STATIC / "login.html").read_text(encoding="utf-8"))

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        if hosted.auth is not None:
            hosted.auth.sign_out(request.cookies.get(REFRESH_COOKIE), request.cookies.get(ACCESS_COOKIE))
        out = RedirectResponse("/login" if hosted.auth else "/", status_code=303)
        clear_session_cookies(out)
        return out

    if with_ui:
        import gradio as gr

        from studio.ui import build_app

        def dependency(request: Request) -> str | None:
            user = who_is(request)
            return user.user_id if user else None

        demo = build_app(hosted.studio, AccountHooks(hosted))
        demo.queue(default_concurrency_limit=1)
        gr.mount_gradio_app(app, demo, path=UI_PATH, auth_dependency=dependency if hosted.auth else None,
                            allowed_paths=[str(settings.outputs_dir)], show_error=True)
    return app
