"""Every part of a request is bounded and every connection has a deadline, tested against a real `studio serve`:
a body of endless small fields is refused without the server's memory growing, and slow-header and slow-body
clients are cut off on time while the API keeps answering."""

from __future__ import annotations

import select
import socket
import time
import urllib.request

import pytest

from tests.test_serve import Server, _token, send_chunked_until_answered

DEADLINE = 2  # seconds, for headers, a stalled body, and the grace before the minimum body rate applies


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "home", STUDIO_HEADER_TIMEOUT=str(DEADLINE), STUDIO_BODY_IDLE_TIMEOUT=str(DEADLINE),
               STUDIO_BODY_GRACE=str(DEADLINE), STUDIO_BODY_MIN_RATE="1024").start()
    yield s
    s.stop()


def _rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_many_small_fields_are_refused_without_growing_memory(server):
    token = _token(server)
    for _ in range(3):  # warm up the route, so what is measured next is only the attack
        urllib.request.urlopen(urllib.request.Request(server.url + "/api/me", headers={
            "Authorization": f"Bearer {token}"}), timeout=10).close()
    before = _rss_mb(server.proc.pid)
    field = b"--zz\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n" + b"v" * 1000 + b"\r\n"
    pieces = (field.replace(b"%d", str(i).encode()) for i in range(200_000))  # up to ~200 MB of fields
    answer, sent = send_chunked_until_answered(
        server.port, f"POST /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                     "Content-Type: multipart/form-data; boundary=zz\r\n", pieces)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 16 * 2**20, f"refused only after {sent / 2**20:.1f} MB"  # socket buffers hold a few MB
    growth = _rss_mb(server.proc.pid) - before
    print(f"\nmany small fields: refused after {sent / 2**20:.1f} MB sent; server RSS {before:.0f} MB, grew {growth:.1f} MB")
    assert growth < 20, f"the server grew by {growth:.1f} MB"


def _closed(sock: socket.socket) -> bool:
    try:
        if select.select([sock], [], [], 0)[0]:
            return sock.recv(4096) == b"" or True  # the server answered or hung up: either way it is done with us
    except (ConnectionResetError, OSError):
        return True
    return False


def test_slow_clients_are_cut_off_while_the_api_answers(server):
    token = _token(server)
    slow_headers, slow_bodies = [], []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\n")
        slow_headers.append(s)
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall((f"POST /api/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                   "Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 1000000\r\n\r\n"
                   "--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n").encode())
        slow_bodies.append(s)
    opened = time.monotonic()
    closed_at: dict[socket.socket, float] = {}
    answers = []
    while len(closed_at) < 100 and time.monotonic() - opened < 6 * DEADLINE + 5:
        for s in slow_headers + slow_bodies:
            if s in closed_at:
                continue
            if _closed(s):
                closed_at[s] = time.monotonic() - opened
                continue
            try:  # a byte at a time: never idle, always too slow
                s.sendall(b"X" if s in slow_bodies else b"X-Slow: 1\r\n")
            except OSError:
                closed_at[s] = time.monotonic() - opened
        t = time.monotonic()
        with urllib.request.urlopen(urllib.request.Request(server.url + "/api/me", headers={
                "Authorization": f"Bearer {token}"}), timeout=10) as r:
            answers.append((r.status, time.monotonic() - t))
        time.sleep(0.25)
    assert len(closed_at) == 100, f"{100 - len(closed_at)} slow connections were still open"
    latest = max(closed_at.values())
    print(f"\nslow clients: 100 cut off, the last after {latest:.1f} s (deadline {DEADLINE} s); /api/me answered "
          f"{len(answers)} times meanwhile, slowest {max(s for _, s in answers) * 1000:.0f} ms")
    assert latest <= 2 * DEADLINE + 2, f"the last slow connection was closed only after {latest:.1f} s"
    assert answers and all(status == 200 for status, _ in answers)
    assert max(seconds for _, seconds in answers) < 2.0
    time.sleep(0.5)
    assert list((server.home / "uploads-in-progress").glob("*")) == []
    for s in slow_headers + slow_bodies:
        s.close()


def test_a_huge_body_to_the_ui_queue_is_refused_before_it_is_held(server):
    """Every route but the uploads holds a body to STUDIO_MAX_BODY_KB, before any middleware reads it."""
    token = _token(server)  # a signed-in page: the walls let the request through to the queue
    before = _rss_mb(server.proc.pid)
    answer, sent = send_chunked_until_answered(
        server.port, f"POST /studio/gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nCookie: studio_access={token}\r\n"
                     "Content-Type: application/json\r\n",
        (b'{"data": ["' if i == 0 else b"x" * 65536 for i in range(3000)))  # ~200 MB
    assert answer.startswith(b"HTTP/1.1 413") and b"body_too_large" in answer, answer[:200]
    assert sent < 16 * 2**20 and _rss_mb(server.proc.pid) - before < 20
