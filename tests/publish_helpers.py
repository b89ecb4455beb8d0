"""Shared by the publishing tests: a connected account without the OAuth dance (test_connections.py covers that),
stored exactly as a connect stores it (its token set sealed with the studio's token key); a real `studio dispatch`
process, and the crash every platform is tested with: killed right after its fake applied the irreversible step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path


def connect_account(hosted, owner: str, *, platform: str = "youtube", account_id: str = "UCfakechannel",
                    access_token: str = "test-token", refresh_token: str = "test-refresh",
                    expires_in: int = 3600, name: str = "Fake channel") -> str:
    from studio.tables import Connection

    expires = int(time.time()) + expires_in
    with hosted.db.session() as s:
        row = Connection(owner_id=owner, platform=platform, account_id=account_id, name=name,
                         scopes=["https://www.googleapis.com/auth/youtube.upload"],
                         token=hosted.token_box.seal({"access_token": access_token, "token_type": "Bearer",
                                                      "refresh_token": refresh_token, "expires_at": expires,
                                                      "issued_at": int(time.time())}),
                         expires_at=datetime.fromtimestamp(expires, UTC),
                         info={"link": f"https://www.youtube.com/channel/{account_id}"})
        s.add(row)
        s.flush()
        return row.id


ROOT = Path(__file__).resolve().parent.parent
DONE = ("posted", "failed", "unconfirmed", "cancelled")


def all_posts(hosted) -> list:
    from sqlalchemy import select

    from studio.tables import Post

    with hosted.db.session() as s:
        return list(s.scalars(select(Post)))


def dispatcher_process(hosted, url: str, env: dict) -> subprocess.Popen:
    """A real `studio dispatch` on the hosted studio's home and database, fast-paced, with ``env`` (a platform's
    settings pointing at its fake)."""
    e = {**os.environ, "STUDIO_HOME": str(hosted.settings.home), "STUDIO_DATABASE_URL": url,
         "STUDIO_JWT_SECRET": hosted.secret, "STUDIO_DISPATCH_EVERY": "0.2", "STUDIO_POST_LEASE_SECONDS": "3",
         "STUDIO_DISPATCH_WORKERS": "2", **env}
    return subprocess.Popen([sys.executable, "-m", "studio.cli", "dispatch"], cwd=ROOT, env=e,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(what, timeout: float, every: float = 0.1):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if got := what():
            return got
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s")


def stop_processes(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def killed_after_the_final_step(hosted, url: str, fake, env: dict, touched: Path):
    """A `studio dispatch` SIGKILLed the moment the fake has applied the irreversible step (its ``final_touch``
    file, written before it answers), then a second one started afterwards; answers the one post once the second
    is done with it. Every platform's fake has ``final_touch`` and ``final_hold_s``."""
    fake.final_touch, fake.final_hold_s = str(touched), 30.0
    first = dispatcher_process(hosted, url, env)
    try:
        wait_for(touched.exists, timeout=120)
        first.kill()
        first.wait()
    finally:
        stop_processes(first)
    fake.final_hold_s = 0.0
    [post] = all_posts(hosted)
    assert post.status == "publishing" and post.handle.get("final_sent"), (post.status, post.message)
    second = dispatcher_process(hosted, url, env)
    try:
        wait_for(lambda: all_posts(hosted)[0].status in DONE, timeout=60)
    finally:
        stop_processes(second)
    return all_posts(hosted)[0]


def deliver_one(dispatcher) -> str:
    """The one post now due, claimed and posted by an in-process ``Dispatcher`` in this thread; answers its status
    afterwards ("posted", "failed", "deferred", ...)."""
    [claimed] = dispatcher.claim(5)
    return dispatcher.deliver(claimed)
