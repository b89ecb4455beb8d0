"""`studio serve` for real (uvicorn in its own process): uploads refused while they stream, jobs that survive a
killed server, and the signed-in UI in a real browser."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_api_media import png_bytes
from tests.test_ui import ROOT, _free_port
from tests.ui_client import open_tab

CHROMIUM = shutil.which("chromium")


class Server:
    def __init__(self, home: Path, **env) -> None:
        self.home = home
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "STUDIO_HOME": str(home), "STUDIO_JWT_SECRET": "serve-test-" + "s" * 32,
                    "GRADIO_ANALYTICS_ENABLED": "False", "STUDIO_AUTH": "local", **env}
        self.proc = None

    def start(self) -> Server:
        log = open(self.home.parent / f"serve-{self.port}.log", "a")
        self.proc = subprocess.Popen([sys.executable, "-m", "studio.cli", "serve", "--port", str(self.port)], cwd=ROOT,
                                     env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/api/health", timeout=2):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(Path(log.name).read_text()) from None
                time.sleep(0.5)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # no clean shutdown: as if the machine lost power
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        req = urllib.request.Request(self.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "home", STUDIO_MAX_IMAGE_MB="2").start()
    yield s
    s.stop()


def _token(server: Server, email="ada@example.com") -> str:
    code, body = server.call("POST", "/api/auth/signup", {"email": email, "password": "correct horse battery"})
    assert code == 201, body
    return body["access_token"]


def _read_answer(sock: socket.socket, answer: bytes = b"") -> bytes:
    """The rest of a small response: its headers, then as many body bytes as its Content-Length names (the two may
    come in separate packets; a refusal may be followed by the server hanging up)."""
    sock.settimeout(10)

    def complete() -> bool:
        head, sep, body = answer.partition(b"\r\n\r\n")
        if not sep:
            return False
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), None)
        return length is not None and len(body) >= length

    try:
        while not complete():
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    except ConnectionResetError:
        pass
    sock.close()
    return answer


def send_chunked_until_answered(port: int, head: str, pieces, *, pause: float = 0.0) -> tuple[bytes, int]:
    """POST ``pieces`` as a chunked body (no Content-Length to refuse up front) until the server answers; returns
    the answer and how many body bytes were sent before it came."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
    sent, answer = 0, b""
    try:
        for piece in pieces:
            sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            sent += len(piece)
            time.sleep(pause)
            if select.select([sock], [], [], 0)[0]:
                answer = sock.recv(65536)
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    return _read_answer(sock, answer), sent


def test_oversized_upload_is_refused_while_it_streams(server):
    token = _token(server)
    boundary = "b0undary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + png_bytes()[:64]
    planned = 60 * 2**20  # what the client means to send; the image limit on this server is 2 MB
    answer, sent = send_chunked_until_answered(
        server.port, f"POST /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                     f"Content-Type: multipart/form-data; boundary={boundary}\r\n",
        [head] + [b"\0" * (128 * 1024)] * (planned // (128 * 1024)), pause=0.01)  # a slow client
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"file_too_large" in answer
    assert sent < 6 * 2**20, f"the refusal came only after {sent / 2**20:.1f} MB of {planned / 2**20:.0f} MB"
    time.sleep(0.5)
    assert list((server.home / "uploads-in-progress").glob("*")) == []
    assert server.call("GET", "/api/assets", token=token)[1]["assets"] == []


def test_declared_oversized_body_is_refused_before_it_is_sent(server):
    token = _token(server)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall((f"POST /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                  "Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 900000000\r\n\r\n").encode())
    answer = _read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413") and b"file_too_large" in answer


def test_a_job_survives_a_killed_server(tmp_path):
    server = Server(tmp_path / "home").start()
    try:
        token = _token(server)
        code, job = server.call("POST", "/api/shorts", {"topic": "why cats sleep so much", "duration": 20,
                                                        "profile": "offline"}, token)
        assert code == 202, job
        deadline = time.time() + 60
        while server.call("GET", f"/api/jobs/{job['id']}", token=token)[1]["status"] == "queued":
            assert time.time() < deadline
            time.sleep(0.2)
        server.kill()  # mid-job
        server.start()
        deadline = time.time() + 240
        while True:
            code, state = server.call("GET", f"/api/jobs/{job['id']}", token=token)
            if state["status"] in ("succeeded", "failed") or time.time() > deadline:
                break
            time.sleep(1)
        assert state["status"] == "succeeded", state
        link = state["short"]["files"]["short.mp4"]
        urllib.request.urlopen(link, timeout=30).close()
    finally:
        server.stop()
    logs = "".join(p.read_text() for p in tmp_path.glob("serve-*.log"))
    assert "/files/[redacted]" in logs  # the download was logged, its credential was not
    assert link.rsplit("/", 1)[1] not in logs and token not in logs and "correct horse battery" not in logs


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)")
def test_browser_sign_up_make_find_in_my_projects_sign_out(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(server.url + "/studio/")
        assert page.url.endswith("/login")  # no session: the UI sends visitors to sign in
        page.fill("#email", "cy@example.com")
        page.fill("#password", "short")
        page.click("#signup")
        page.wait_for_selector("#msg:has-text('at least 10')")
        page.fill("#password", "correct horse battery")
        page.click("#signup")
        page.wait_for_url("**/studio/", timeout=60_000)
        page.get_by_text("Signed in as cy@example.com").wait_for(timeout=60_000)
        # the creator's own words (a topic with no language model here would come back as an outline first)
        page.get_by_role("textbox", name="…or your own script").fill(
            "Sleep well tonight. Put the phone away an hour early, dim the lights, and breathe slowly.")
        page.get_by_role("textbox", name="Project (optional)").fill("Sleep series")
        page.locator("input[type=number]").first.fill("6")
        page.get_by_role("button", name="Create short").click()
        page.wait_for_selector(".short-result video", timeout=180_000)
        page.get_by_text("19 of 20 shorts left today").wait_for(timeout=30_000)
        open_tab(page, "My projects")
        page.wait_for_function("(document.querySelector('#my-shorts') || {innerText: ''}).innerText.includes('Sleep series')",
                               timeout=30_000)
        page.get_by_label("Open a short").click()
        page.get_by_role("option").first.click()
        page.wait_for_function("(() => { const v = document.querySelector('#opened-short video'); "
                               "return v && v.offsetParent !== null && v.readyState >= 1 && v.duration > 4; })()",
                               timeout=60_000)
        page.screenshot(path=str(tmp_path / "my-projects.png"), full_page=True)
        page.click("#signout")
        page.wait_for_url("**/login", timeout=30_000)
        page.goto(server.url + "/studio/")
        assert page.url.endswith("/login")  # signed out for real: the refresh cookie no longer works
        browser.close()
