"""The hosted UI behind the REST API's walls, tested against a real `studio serve` process: every file an event
receives is the caller's own upload, outputs are private, uploads follow the API's rules, sessions survive refresh,
no other site gets a CORS grant, and the UI makes shorts through the same job runner and quota as the API."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.test_api_media import png_bytes
from tests.test_serve import Server, _read_answer, send_chunked_until_answered
from tests.ui_client import (
    UI,
    browser_session,
    call_by_index,
    call_by_name,
    config,
    file_events,
    fn_index,
    open_tab,
    upload,
    with_files,
)


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "home", GRADIO_TEMP_DIR=str(tmp_path / "gradio"), STUDIO_MAX_IMAGE_MB="2",
               STUDIO_UI_UPLOAD_QUOTA_MB="4").start()
    yield s
    s.stop()


def _files_with(root: Path, digest: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and hashlib.sha256(p.read_bytes()).hexdigest() == digest]


def _png(seed: int) -> bytes:
    return png_bytes(w=320 + seed, h=480, color=(seed % 256, 80, 160))


def test_every_file_input_refuses_paths_that_are_not_the_callers_uploads(server, tmp_path):
    ada, bo = browser_session(server.url, "ada@example.com"), browser_session(server.url, "bo@example.com")
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(_png(7))
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    r = upload(ada, "mine.png", _png(9), "image/png")
    assert r.status_code == 200, r.text
    adas_upload = r.json()[0]
    bos_dir = Path(upload(bo, "bo.png", _png(11), "image/png").json()[0]).parent
    hostile = [str(secret), "/etc/passwd", adas_upload,
               f"{bos_dir}/../../{Path(adas_upload).parent.parent.name}/{Path(adas_upload).parent.name}/mine.png",
               "http://169.254.169.254/latest/meta-data", str(server.home / "studio.db")]

    cfg = config(bo)
    events = file_events(cfg)
    assert any(dep.get("api_name") == "create" for dep, _ in events)  # the enumeration finds the known one
    calls = 0
    for dep, slots in events:
        for path in hostile:
            data = with_files(cfg, dep, slots, path)
            results = [call_by_index(bo, dep["id"], data)]
            if dep.get("api_name") and dep.get("api_visibility", "public") != "private":
                results.append(call_by_name(bo, dep["api_name"], data))
            for kind, detail in results:
                calls += 1
                assert kind == "error" and "not uploaded here" in str(detail), (dep.get("api_name"), path, detail)
    assert calls >= 2 * len(hostile)
    # nothing was copied anywhere, no work was started, no quota spent
    for root in (server.home, tmp_path / "gradio"):
        assert _files_with(root, digest) == [], root
    assert bo.get("/api/jobs", headers={"Authorization": f"Bearer {bo.token}"}).json()["jobs"] == []
    me = bo.get("/api/me", headers={"Authorization": f"Bearer {bo.token}"}).json()
    assert me["quota"]["used_today"] == 0
    # a caller reads only their own uploads through Gradio's file route; without a session, nothing
    assert ada.get(f"{UI}/gradio_api/file={adas_upload}").status_code == 200
    assert bo.get(f"{UI}/gradio_api/file={adas_upload}").status_code == 404
    for path in ("/etc/passwd", str(secret), "http://127.0.0.1:1/"):
        assert ada.get(f"{UI}/gradio_api/file={path}").status_code == 404
    assert httpx.get(f"{server.url}{UI}/gradio_api/file={adas_upload}").status_code == 401


@pytest.mark.slow
def test_a_short_made_in_the_ui_is_the_callers_own_through_the_api_path(server, tmp_path):
    ada, bo = browser_session(server.url, "ada@example.com"), browser_session(server.url, "bo@example.com")
    photo = upload(ada, "me.png", _png(3), "image/png").json()[0]
    cfg = config(ada)
    dep = next(d for d, _ in file_events(cfg) if d.get("api_name") == "create")
    data = with_files(cfg, dep, [dep["inputs"].index(_component_id(cfg, "Your photos (optional)"))], photo)
    data[0], data[3], data[8] = "3 tips for better sleep", 6, "offline"  # topic, duration, profile
    data[dep["inputs"].index(_component_id(cfg, "Project (optional)"))] = "Sleep series"
    kind, out = call_by_name(ada, "create", data)
    assert kind == "complete", out
    page = out[0]
    links = dict(re.findall(r'<a href="([^"]+)" download="([^"]+)"', page))
    links = {name: url.replace("&amp;", "&") for url, name in links.items()}
    assert set(links) == {"short.mp4", "captions.srt", "captions.vtt", "thumbnail.jpg", "post.json", "report.json",
                          "timeline.json"}
    assert all(url.startswith("/files/") for url in links.values())  # signed links, never server paths
    video = ada.get(links["short.mp4"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"

    # the API sees the same short, made by one job that spent one short of the quota
    auth = {"Authorization": f"Bearer {ada.token}"}
    shorts = ada.get("/api/shorts", headers=auth).json()["shorts"]
    jobs = ada.get("/api/jobs", headers=auth).json()["jobs"]
    assert len(shorts) == 1 and len(jobs) == 1 and jobs[0]["status"] == "succeeded"
    assert shorts[0]["engines"]["stills"] == "creator-photos"
    assert ada.get("/api/me", headers=auth).json()["quota"]["used_today"] == 1
    assert ada.get("/api/projects", headers=auth).json()["projects"][0]["name"] == "Sleep series"
    assert [a["kind"] for a in ada.get("/api/assets", headers=auth).json()["assets"]] == ["image"]
    # the upload and Gradio's copy of it are gone: the photo now lives in storage as an asset
    assert not Path(photo).exists() and [p for p in (tmp_path / "gradio").rglob("*.png")] == []

    # another creator reaches none of it, by any route or guessed path; no session gets 401
    short_id = shorts[0]["id"]
    stored = [p for p in (server.home / "media").rglob("*") if p.is_file()]
    assert stored
    bo_auth = {"Authorization": f"Bearer {bo.token}"}
    assert bo.get(f"/api/shorts/{short_id}", headers=bo_auth).status_code == 404
    assert bo.delete(f"/api/shorts/{short_id}", headers=bo_auth).status_code == 404
    for path in stored:
        assert bo.get(f"{UI}/gradio_api/file={path}").status_code == 404
        assert httpx.get(f"{server.url}{UI}/gradio_api/file={path}").status_code == 401
    for guess in (server.home / "outputs", server.home / "jobs", server.home / "ui-uploads"):
        assert bo.get(f"{UI}/gradio_api/file={guess}/post.json").status_code == 404
    forged = links["post.json"][:-3] + ("AAA" if not links["post.json"].endswith("AAA") else "BBB")
    assert bo.get(forged).status_code == 404
    assert httpx.get(f"{server.url}/api/shorts/{short_id}").status_code == 401

    # "My projects" lists it and opens it for its owner only (as the page does: list, then pick, in one session)
    kind, listed = call_by_index(ada, fn_index(cfg, "listing"), [], session="ada-page")
    assert kind == "complete" and listed[0]["data"][0][:2] == ["Sleep series", "3 tips for better sleep"]
    kind, opened = call_by_index(ada, fn_index(cfg, "open_short"), [short_id], session="ada-page")
    # its own short, with a signed link to its video (links are signed afresh, with their expiry, on every view)
    page = opened[0].replace("&amp;", "&")
    assert kind == "complete" and "<h3>3 tips for better sleep</h3>" in page and '<video' in page and "/files/" in page
    assert call_by_index(bo, fn_index(cfg, "listing"), [], session="bo-page")[1][0]["data"] == []
    kind, detail = call_by_index(bo, fn_index(cfg, "open_short"), [short_id], session="bo-page")
    assert kind == "error"

    # deleting the short deletes its files
    assert ada.delete(f"/api/shorts/{short_id}", headers=auth).status_code == 204
    assert ada.get(links["short.mp4"]).status_code == 404
    photo_sha = ada.get("/api/assets", headers=auth).json()["assets"][0]["sha256"]
    remaining = [p.name for p in (server.home / "media").rglob("*") if p.is_file()]
    assert remaining == [photo_sha]  # the short's six files are gone; the photo stays in the asset library


def _component_id(cfg: dict, label: str) -> int:
    return next(c["id"] for c in cfg["components"] if c["props"].get("label") == label)


def test_gradio_upload_route_follows_the_api_limits(server, tmp_path):
    ada = browser_session(server.url, "ada@example.com")
    r = upload(ada, "notes.png", b"#!/bin/sh\necho this is not an image\n" * 4, "image/png")
    assert r.status_code == 415 and r.headers["x-error-code"] == "unsupported_type"
    assert r.text.startswith("The file is not a supported image")  # plain words: the page shows them as they are
    # a 300 MB file announced up front is refused before it is sent
    cookies = "; ".join(f"{k}={v}" for k, v in ada.cookies.items())
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall((f"POST {UI}/gradio_api/upload HTTP/1.1\r\nHost: x\r\nCookie: {cookies}\r\n"
                  f"Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: {300 * 2**20}\r\n\r\n").encode())
    assert _read_answer(sock).startswith(b"HTTP/1.1 413")
    # and one streamed without a length is cut off once it passes the limit for its type (2 MB for images here)
    head = (b"--zz\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + png_bytes()[:64])
    answer, sent = send_chunked_until_answered(
        server.port, f"POST {UI}/gradio_api/upload HTTP/1.1\r\nHost: x\r\nCookie: {cookies}\r\n"
                     "Content-Type: multipart/form-data; boundary=zz\r\n", [head] + [b"\0" * (256 * 1024)] * (300 * 4))
    assert answer.startswith(b"HTTP/1.1 413") and b"x-error-code: file_too_large" in answer.lower(), answer[:300]
    assert sent < 12 * 2**20, f"refused only after {sent / 2**20:.0f} MB"
    time.sleep(0.5)
    leftovers = [p for root in (server.home / "uploads-in-progress", server.home / "ui-uploads", tmp_path / "gradio")
                 if root.exists() for p in root.rglob("*") if p.is_file()]
    assert leftovers == []
    assert httpx.post(f"{server.url}{UI}/gradio_api/upload", files=[("files", ("a.png", _png(1)))]).status_code == 401


def test_no_foreign_origin_gets_a_cors_grant(server):
    ada = browser_session(server.url, "ada@example.com")
    evil = {"Origin": "https://evil.example", "Host": "studio.example.com"}
    routes = [("GET", "/api/health"), ("GET", f"{UI}/config"), ("GET", f"{UI}/gradio_api/info"),
              ("GET", "/api/me"), ("POST", f"{UI}/gradio_api/upload"), ("POST", "/api/shorts"), ("GET", f"{UI}/")]
    for method, path in routes:
        for req in (ada.build_request(method, path, headers=evil),
                    ada.build_request("OPTIONS", path, headers={**evil, "Access-Control-Request-Method": method,
                                                                 "Access-Control-Request-Headers": "content-type"})):
            r = ada.send(req)
            granted = r.headers.get("access-control-allow-origin")
            assert granted in (None, ""), (req.method, path, granted)
            assert "access-control-allow-credentials" not in r.headers or granted is None


def test_session_survives_access_expiry_and_parallel_requests(tmp_path):
    server = Server(tmp_path / "home", STUDIO_ACCESS_TTL="2", STUDIO_REFRESH_GRACE="3").start()
    try:
        ada = browser_session(server.url, "ada@example.com")
        refresh = ada.cookies["studio_refresh"]
        time.sleep(2.5)  # the access cookie has expired; only the refresh cookie is any use

        def page_request(path: str) -> httpx.Response:
            return httpx.get(server.url + path, cookies={"studio_refresh": refresh}, follow_redirects=False,
                             timeout=60)

        paths = [f"{UI}/", f"{UI}/config", f"{UI}/gradio_api/info", f"{UI}/gradio_api/info", f"{UI}/config",
                 f"{UI}/gradio_api/info"]
        with ThreadPoolExecutor(len(paths)) as pool:
            answers = list(pool.map(page_request, paths))
        assert [r.status_code for r in answers] == [200] * len(paths), [(r.status_code, r.text[:80]) for r in answers]
        successors = {r.cookies.get("studio_refresh") for r in answers}
        assert len(successors) == 1 and None not in successors  # one successor, handed to every request
        (successor,) = successors
        # the session lives on with the successor
        later = httpx.get(server.url + f"{UI}/config", cookies={"studio_refresh": successor}, timeout=60)
        assert later.status_code == 200
        # the original, replayed after the grace window, is theft: the whole session ends
        time.sleep(3.5)
        stolen = page_request(f"{UI}/")
        assert stolen.status_code == 303 and stolen.headers["location"] == "/login"
        time.sleep(2.5)
        ended = httpx.get(server.url + f"{UI}/", cookies={"studio_refresh": successor}, follow_redirects=False)
        assert ended.status_code == 303
    finally:
        server.stop()


_CRASH = """
import os, signal, sys, time
from pathlib import Path
from studio.hosted import Hosted
from studio.settings import ServerSettings, Settings

settings = Settings(home=Path(sys.argv[1]), server=ServerSettings(auth_mode="local", jwt_secret="x" * 40,
                                                                   job_lease_s=10))
hosted = Hosted(settings)
user = hosted.auth.sign_up("crash@example.com", "correct horse battery").user
saved = hosted.save_short

def save_then_die(*args, **kwargs):
    saved(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)  # after the short is saved, before the job is marked done

hosted.save_short = save_then_die
hosted.start()
hosted.start_short(user.user_id, {"topic": "why cats sleep so much", "duration": 6, "profile": "offline"}, None)
time.sleep(600)
"""


@pytest.mark.slow
def test_a_kill_between_saving_and_marking_done_leaves_one_short(tmp_path):
    from sqlalchemy import func, select

    from studio.hosted import Hosted
    from studio.settings import ServerSettings, Settings
    from studio.tables import Job, Short

    home = tmp_path / "home"
    proc = subprocess.run([sys.executable, "-c", _CRASH, str(home)], cwd=Path(__file__).resolve().parent.parent,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert list((home / "jobs").glob("job-*")), "the killed job left its scratch folder"
    (home / "uploads-in-progress").mkdir(exist_ok=True)
    (home / "uploads-in-progress" / ".upload-abc.part").write_bytes(b"half")
    stale = home / "ui-uploads" / ("0" * 32) / ("f" * 32)
    stale.mkdir(parents=True)
    (stale / "old.png").write_bytes(_png(2))
    os.utime(stale, (time.time() - 7 * 3600, time.time() - 7 * 3600))

    stored = sorted(p.name for p in (home / "media").rglob("*") if p.is_file())
    hosted = Hosted(Settings(home=home, server=ServerSettings(auth_mode="local", jwt_secret="x" * 40, job_lease_s=10)))
    hosted.start()  # a restart: leftovers cleaned; the dead process's job is taken over once its lease lapses
    try:
        deadline = time.time() + 120
        while True:
            with hosted.db.session() as s:
                job = s.scalars(select(Job)).one()
                if job.status not in ("queued", "running") or time.time() > deadline:
                    break
            time.sleep(0.2)
        with hosted.db.session() as s:
            count = s.scalar(select(func.count()).select_from(Short))
            short_id = s.scalar(select(Short.id))
        assert job.status == "succeeded" and job.short_id == short_id and count == 1
        assert job.attempts == 2  # the killed run, and the takeover that found its saved short ...
        assert sorted(p.name for p in (home / "media").rglob("*") if p.is_file()) == stored  # ... not made again
        assert list((home / "jobs").glob("job-*")) == []
        assert list((home / "uploads-in-progress").iterdir()) == []
        assert not stale.exists()
    finally:
        hosted.stop()
        hosted.db.dispose()


@pytest.mark.skipif(shutil.which("chromium") is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)")
def test_browser_page_keeps_working_past_access_expiry(tmp_path):
    """A real page outlives its access token: its next requests, several at once, rotate the refresh cookie once."""
    from playwright.sync_api import sync_playwright

    server = Server(tmp_path / "home", STUDIO_ACCESS_TTL="3").start()
    burst = ("Promise.all(['config', 'gradio_api/info', 'config', 'theme.css', 'gradio_api/info', 'config']"
             ".map(p => fetch('/studio/' + p, {redirect: 'manual'}).then(r => r.status)))")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"])
            page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            failures = []
            page.on("response", lambda r: failures.append((r.status, r.url)) if r.status >= 400 else None)
            page.goto(server.url + "/login")
            page.fill("#email", "eve@example.com")
            page.fill("#password", "correct horse battery")
            page.click("#signup")
            page.wait_for_url("**/studio/", timeout=60_000)
            page.get_by_text("Signed in as eve@example.com").wait_for(timeout=60_000)
            for _ in range(2):
                time.sleep(4)  # the access cookie has expired
                assert page.evaluate(burst) == [200] * 6
                open_tab(page, "My projects")
                page.get_by_role("button", name="Refresh").click()
                page.wait_for_selector("#my-shorts", timeout=30_000)
                page.get_by_role("tab", name="Create").click()
            time.sleep(4)
            page.reload()  # a whole page load on an expired access token
            page.get_by_text("Signed in as eve@example.com").wait_for(timeout=60_000)
            assert page.url.endswith("/studio/")
            assert page.locator(".toast-body.error").count() == 0
            assert [f for f in failures if "/favicon" not in f[1]] == []
            browser.close()
    finally:
        server.stop()


def test_only_the_pages_gradio_routes_are_served_and_uploads_are_never_markup(server, tmp_path):
    """Found by review: Gradio's older /file/ route, process_recording, component_server and a double-encoded
    path reached other users' uploads, unbounded bodies or the upload rules' blind side."""
    ada, bo = browser_session(server.url, "ada@example.com"), browser_session(server.url, "bo@example.com")
    adas = upload(ada, "secret-ada.png", _png(5), "image/png").json()[0]
    bos = upload(bo, "b.png", _png(6), "image/png").json()[0]
    owner_dir, token_dir = Path(bos).parent.parent.name, Path(bos).parent.name
    for path in (f"{UI}/gradio_api/file/{adas}", f"{UI}/gradio_api/file//{adas}", f"{UI}/file={adas}",
                 f"{UI}/gradio_api/file={adas}/..%252F..%252F..%252F{owner_dir}%252F{token_dir}%252Fb.png%252Fx/..",
                 f"{UI}/gradio_api/process_recording", f"{UI}/gradio_api/component_server", f"{UI}/monitoring",
                 f"{UI}/gradio_api/run/create", f"{UI}/gradio_api/mcp/sse", f"{UI}/gradio_api/deep_link",
                 f"{UI}/gradio_api/vibe-edit", f"{UI}/gradio_api/stream/x"):
        for method in ("GET", "POST"):
            r = bo.request(method, path)
            assert r.status_code == 404, (method, path, r.status_code)
    # an upload named like a web page is stored under the type its bytes have, and never runs in a page
    evil = _png(8) + b'<script>fetch("/api/auth/refresh",{method:"POST"})</script>'
    kept = upload(bo, "evil.html", evil, "text/html").json()[0]
    assert kept.endswith("/evil.png")
    shown = bo.get(f"{UI}/gradio_api/file={kept}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert "sandbox" in shown.headers["content-security-policy"]
    # a name no file system takes is tamed, not a 500; nothing half-received is left behind
    r = upload(bo, "😀" * 130 + ".png", _png(9), "image/png")
    assert r.status_code == 200 and len(Path(r.json()[0]).name) <= 64
    assert list((server.home / "uploads-in-progress").glob("*")) == []
    # every other body is bounded: a 5 MB JSON to the queue is refused, not held
    r = bo.post(f"{UI}/gradio_api/queue/join", content=b'{"data": ["' + b"x" * (5 * 2**20) + b'"]}',
                headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    # an event that does not exist is a bad request, not a server error
    r = bo.post(f"{UI}/gradio_api/queue/join", json={"data": [], "fn_index": 99_999, "session_hash": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_event"


def _noise_png() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()  # ~1.4 MB that does not compress


def _waiting_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in (home / "ui-uploads").rglob("*") if p.is_file())


def test_an_owner_cannot_fill_the_disk_with_waiting_uploads(server):
    bo, noise = browser_session(server.url, "bo@example.com"), _noise_png()
    codes = [upload(bo, f"n{i}.png", noise, "image/png").status_code for i in range(4)]
    assert codes[:2] == [200, 200] and 413 in codes[2:]  # the quota here is 4 MB of waiting uploads
    # uploads sent at the same moment cannot each see the same free room
    cy = browser_session(server.url, "cy@example.com")
    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(lambda i: upload(cy, f"p{i}.png", noise, "image/png").status_code, range(5)))
    assert codes.count(200) <= 2 and set(codes) <= {200, 413}, codes
    assert _waiting_bytes(server.home) <= 8 * 2**20  # two creators, 4 MB each at most
    assert list((server.home / "uploads-in-progress").glob("*")) == []


def test_demo_visitors_share_one_upload_quota_per_address(tmp_path):
    """In the anonymous demo a visitor is a cookie, which costs nothing to drop: the quota holds per address."""
    demo = Server(tmp_path / "home", STUDIO_AUTH="none", STUDIO_UI_UPLOAD_QUOTA_MB="3").start()
    try:
        noise = _noise_png()
        codes = [httpx.post(f"{demo.url}{UI}/gradio_api/upload", files=[("files", (f"v{i}.png", noise))],
                            timeout=60).status_code for i in range(3)]  # three fresh visitors, no cookies kept
        assert codes[:2] == [200, 200] and codes[2] == 413, codes
        assert _waiting_bytes(demo.home) <= 3 * 2**20
    finally:
        demo.stop()


def test_what_gradio_would_answer_with_a_500_is_refused_plainly(server):
    """Found by the second review: unknown call names, over-long multipart boundaries and multi-range requests."""
    bo = browser_session(server.url, "bo@example.com")
    for name in ("nope", "v2/create"):
        assert bo.post(f"{UI}/gradio_api/call/{name}", json={"data": []}).status_code == 404, name
    boundary = "b" * 300
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n").encode() \
        + _png(1) + f"\r\n--{boundary}--\r\n".encode()
    for path in (f"{UI}/gradio_api/upload", "/api/assets"):
        r = bo.post(path, content=body, headers={"content-type": f"multipart/form-data; boundary={boundary}",
                                                  "authorization": f"Bearer {bo.token}"})
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
    mine = upload(bo, "m.png", _png(2), "image/png").json()[0]
    r = bo.get(f"{UI}/gradio_api/file={mine}", headers={"Range": "bytes=0-1,5-6"})
    assert r.status_code == 200 and r.content == Path(mine).read_bytes()


def test_logout_ends_the_live_session_even_beside_a_stale_refresh_cookie(server):
    old = browser_session(server.url, "dee@example.com")
    stale = old.cookies["studio_refresh"]
    assert old.post("/logout", headers={"Origin": server.url}, follow_redirects=False).status_code == 303
    live = httpx.post(server.url + "/api/auth/login", json={"email": "dee@example.com",
                                                           "password": "correct horse battery"}).json()
    r = httpx.post(server.url + "/logout", cookies={"studio_access": live["access_token"], "studio_refresh": stale},
                   headers={"Origin": server.url})
    assert r.status_code == 303
    r = httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {live['access_token']}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


def test_signing_out_ends_every_access_token_of_the_session(server):
    ada = browser_session(server.url, "ada@example.com")
    first = {"Authorization": f"Bearer {ada.token}"}
    fresh = ada.post("/api/auth/refresh").json()  # a second access token in the same session
    assert ada.get("/api/me", headers=first).status_code == 200
    assert ada.post("/logout", headers={"Origin": server.url}, follow_redirects=False).status_code == 303
    for token in (ada.token, fresh["access_token"]):
        r = httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
