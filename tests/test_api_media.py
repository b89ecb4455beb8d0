"""Projects, assets, shorts and jobs over the REST API: tenancy, uploads and signed links, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import subprocess
import time
import wave

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from studio.tables import Connection, OAuthState
from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401


def png_bytes(w=320, h=480, color=(200, 40, 90)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def wav_bytes(seconds=1.0, rate=16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        t = np.arange(int(seconds * rate)) / rate
        w.writeframes((np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes())
    return buf.getvalue()


@pytest.fixture(scope="module")
def mp4(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("clip") / "c.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x568:rate=15:duration=1",
                    "-pix_fmt", "yuv420p", str(out)], check=True)
    return out.read_bytes()


@pytest.fixture
def client(tmp_path, database_url):  # noqa: F811
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", database_url, max_image_mb=1, daily_shorts=2))
    with TestClient(create_api(hosted)) as c:
        c.hosted = hosted
        yield c
    hosted.db.dispose()


def upload(client, who, data: bytes, name="photo.png", ctype="image/png", **fields):
    return client.post("/api/assets", headers=bearer(who), files={"file": (name, data, ctype)}, data=fields)


def leftovers(client) -> list:
    home = client.hosted.settings.home
    return [p for p in (home / "uploads-in-progress").glob("*")] if (home / "uploads-in-progress").exists() else []


def test_upload_types_from_magic_bytes(client, mp4):
    ada = signup(client, "ada@example.com")
    img = upload(client, ada, png_bytes(), name="holiday.mp3", ctype="audio/mpeg")  # the name and type lie
    assert img.status_code == 201, img.text
    assert img.json()["kind"] == "image" and img.json()["content_type"] == "image/png"
    assert img.json()["meta"] == {"width": 320, "height": 480}
    vid = upload(client, ada, mp4, name="clip.txt", ctype="text/plain")
    assert vid.status_code == 201 and vid.json()["kind"] == "video" and vid.json()["meta"]["width"] == 320
    aud = upload(client, ada, wav_bytes(), name="voice")
    assert aud.status_code == 201 and aud.json()["kind"] == "audio"
    bad = upload(client, ada, b"#!/bin/sh\nrm -rf /\n" * 10, name="photo.png")
    assert bad.status_code == 415 and bad.json()["error"]["code"] == "unsupported_type"
    truncated = upload(client, ada, png_bytes()[:300])
    assert truncated.status_code == 415 and truncated.json()["error"]["code"] == "invalid_image"
    fake_mp4 = upload(client, ada, mp4[:40] + b"\0" * 2000, name="x.mp4")
    assert fake_mp4.status_code == 415 and fake_mp4.json()["error"]["code"] == "invalid_video"
    assert len(client.get("/api/assets", headers=bearer(ada)).json()["assets"]) == 3
    assert leftovers(client) == []


def test_decompression_bomb_and_tiny_and_oversized_refused(client):
    ada = signup(client, "ada@example.com")
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # 400 MP that compresses to ~50 kB
    r = upload(client, ada, bomb.getvalue())
    assert r.status_code == 415 and "megapixels" in r.json()["error"]["message"]
    noise = np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    big = io.BytesIO()
    Image.fromarray(noise).save(big, "PNG")  # ~1.4 MB against the 1 MB image limit of this server
    r = upload(client, ada, big.getvalue())
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    assert client.get("/api/assets", headers=bearer(ada)).json()["assets"] == []
    assert leftovers(client) == []


def test_absurd_video_dimensions_refused(client, tmp_path):
    ada = signup(client, "ada@example.com")
    wide = tmp_path / "wide.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=size=8400x16:rate=5:duration=0.4",
                    "-c:v", "rawvideo", "-pix_fmt", "gray", str(wide)], check=True)
    r = upload(client, ada, wide.read_bytes(), name="wide.mp4")
    assert r.status_code == 415 and r.json()["error"]["code"] == "video_too_large"
    assert leftovers(client) == []


@pytest.mark.parametrize("name", ["../../etc/passwd", "/abs/path.png", "a\0b.png", "x" * 1000 + ".png", "..", "C:\\w\\p.png"])
def test_filenames_never_touch_paths(client, name):
    ada = signup(client, f"n{abs(hash(name)) % 10**6}@example.com")
    r = upload(client, ada, png_bytes(), name=name)
    assert r.status_code == 201, r.text
    shown = r.json()["filename"]
    assert "/" not in shown and "\\" not in shown and "\0" not in shown and len(shown) <= 120 and shown
    media = client.hosted.settings.home / "media"
    for p in media.rglob("*"):
        assert p.resolve().is_relative_to(media.resolve())
        assert "passwd" not in p.name and ".png" not in p.name


def test_malformed_multipart_is_a_clean_error(client):
    ada = signup(client, "ada@example.com")
    r = upload(client, ada, png_bytes(), name="x" * 20000 + ".png")
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_upload"
    r = client.post("/api/assets", headers={**bearer(ada), "content-type": "multipart/form-data; boundary=zz"},
                    content=b"--zz\r\nnonsense")
    assert r.status_code == 400 and r.json()["error"]["code"] in ("malformed_upload", "missing_file")
    r = client.post("/api/assets", headers=bearer(ada), json={"file": "x"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "not_multipart"
    assert leftovers(client) == []


def test_signed_links_download_expire_and_resist_tampering(client):
    ada = signup(client, "ada@example.com")
    data = png_bytes()
    asset = upload(client, ada, data, name="me.png").json()
    url = asset["download_url"]
    got = client.get(url)  # a signed link needs no token: it is the credential, for a limited time
    assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "image/png"
    assert 'filename="me.png"' in got.headers["content-disposition"]
    token = url.rsplit("/", 1)[1]
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.get(f"/files/{tampered}").status_code == 404
    expired = client.hosted.storage.signed_url(f"{ada['user']['id']}/00/" + "0" * 64, expires_in=-1, filename="x",
                                               content_type="image/png")
    r = client.get(expired)
    assert r.status_code == 404 and r.json()["error"]["code"] == "link_expired"
    assert client.delete(f"/api/assets/{asset['id']}", headers=bearer(ada)).status_code == 204
    assert client.get(url).status_code == 404  # deleting the asset kills its links


def test_tenancy_every_id_endpoint(client):
    ada, bo = signup(client, "ada@example.com"), signup(client, "bo@example.com")
    project = client.post("/api/projects", headers=bearer(ada), json={"name": "Mornings"}).json()
    asset = upload(client, ada, png_bytes(), project_id=project["id"]).json()
    job = client.post("/api/shorts", headers=bearer(ada), json={
        "topic": "morning habits", "duration": 5, "profile": "offline", "asset_ids": [asset["id"]],
        "project_id": project["id"]}).json()
    done = wait(client, ada, job["id"])
    assert done["status"] == "succeeded", done
    short_id = done["short"]["id"]

    # Bo sees none of it, and every id-taking endpoint answers as if it did not exist
    for path in (f"/api/projects/{project['id']}", f"/api/assets/{asset['id']}", f"/api/jobs/{job['id']}",
                 f"/api/shorts/{short_id}"):
        r = client.get(path, headers=bearer(bo))
        assert r.status_code == 404 and r.json()["error"]["code"].endswith("_not_found"), path
        missing = client.get(path.rsplit("/", 1)[0] + "/" + "0" * 32, headers=bearer(bo))
        assert (missing.status_code, missing.json()["error"]["code"]) == (r.status_code, r.json()["error"]["code"])
        assert client.delete(path, headers=bearer(bo)).status_code in (404, 405)
    for listing, key in (("/api/projects", "projects"), ("/api/assets", "assets"), ("/api/shorts", "shorts"),
                         ("/api/jobs", "jobs")):
        assert client.get(listing, headers=bearer(bo)).json()[key] == []
    assert client.get(f"/api/assets?project_id={project['id']}", headers=bearer(bo)).json()["assets"] == []
    # Bo cannot use Ada's asset, project or voice sample in his own short
    for body in ({"asset_ids": [asset["id"]]}, {"project_id": project["id"]}, {"voice_sample_asset_id": asset["id"]}):
        r = client.post("/api/shorts", headers=bearer(bo), json={"topic": "x", "profile": "offline", **body})
        assert r.status_code == 404, body
    r = upload(client, bo, png_bytes(), project_id=project["id"])
    assert r.status_code == 404
    # connected accounts (tests/test_connections.py runs the OAuth flow): Bo neither sees nor deletes Ada's account,
    # nor finishes her connect attempt with its state
    with client.hosted.db.session() as s:
        account = Connection(owner_id=ada["user"]["id"], platform="youtube", account_id="UCada", name="Ada's channel",
                             token=client.hosted.token_box.seal({"access_token": "ada-access"}))
        s.add(account)
        s.add(OAuthState(state_hash=hashlib.sha256(b"ada-state").hexdigest(), owner_id=ada["user"]["id"],
                         platform="youtube"))
    assert client.get("/api/connections", headers=bearer(bo)).json()["connections"] == []
    r = client.delete(f"/api/connections/{account.id}", headers=bearer(bo))
    missing = client.delete("/api/connections/" + "0" * 32, headers=bearer(bo))
    assert r.status_code == missing.status_code == 404
    assert r.json()["error"]["code"] == missing.json()["error"]["code"] == "connection_not_found"
    r = client.post("/api/connections/youtube/callback", headers=bearer(bo), json={"code": "c", "state": "ada-state"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "oauth_state_mismatch"
    assert [a["id"] for a in client.get("/api/connections", headers=bearer(ada)).json()["connections"]] == [account.id]
    with client.hosted.db.session() as s:
        assert s.get(OAuthState, hashlib.sha256(b"ada-state").hexdigest()).used_at is None
    # Ada's things survived Bo's attempts
    assert client.get(f"/api/projects/{project['id']}", headers=bearer(ada)).json()["shorts"][0]["id"] == short_id
    files = client.get(f"/api/shorts/{short_id}", headers=bearer(ada)).json()["files"]
    assert set(files) >= {"short.mp4", "thumbnail.jpg", "captions.srt", "report.json"}
    video = client.get(files["short.mp4"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    # deleting the project deletes its shorts (and their files), not the uploads
    assert client.delete(f"/api/projects/{project['id']}", headers=bearer(ada)).status_code == 204
    assert client.get(files["short.mp4"]).status_code == 404
    assert client.get(f"/api/assets/{asset['id']}", headers=bearer(ada)).status_code == 200


def wait(client, who, job_id, timeout=240) -> dict:
    t0 = time.time()
    while time.time() - t0 < timeout:
        job = client.get(f"/api/jobs/{job_id}", headers=bearer(who)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def test_bad_short_requests_and_quota(client):
    ada = signup(client, "ada@example.com")
    r = client.post("/api/shorts", headers=bearer(ada), json={"topic": "x", "platform": "myspace"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = client.post("/api/shorts", headers=bearer(ada), json={"topic": "x", "models": ["script=/etc"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_body"
    jobs = [client.post("/api/shorts", headers=bearer(ada), json={"topic": f"t{i}", "duration": 5, "profile": "offline"})
            for i in range(3)]
    assert [j.status_code for j in jobs] == [202, 202, 429]
    assert jobs[2].json()["error"]["code"] == "quota_exceeded" and int(jobs[2].headers["retry-after"]) > 0
    assert client.get("/api/me", headers=bearer(ada)).json()["quota"] == {"daily_shorts": 2, "used_today": 2,
                                                                          "remaining_today": 0}
    for j in jobs[:2]:
        assert wait(client, ada, j.json()["id"])["status"] == "succeeded"


def test_job_failure_is_reported(client):
    """A job that fails while running ends as `failed` with the error's code and message, never a hang or a 500."""
    ada = signup(client, "ada@example.com")
    photo = upload(client, ada, png_bytes()).json()
    r = client.post("/api/shorts", headers=bearer(ada), json={"topic": "x", "duration": 5, "profile": "offline",
                                                              "voice_sample_asset_id": photo["id"], "voice_consent": True})
    assert r.status_code == 202
    job = wait(client, ada, r.json()["id"])
    assert job["status"] == "failed" and job["short"] is None
    assert job["error"]["code"] == "invalid_media" and "not an audio file" in job["error"]["message"]
