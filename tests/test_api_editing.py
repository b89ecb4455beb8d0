"""Editing a saved short over the REST API: its draft timeline (ETag / If-Match), renders as versions in every feed
format, restoring a version, the re-render quota, and tenancy: on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api_helpers import bearer, database_url, make_settings, signup  # noqa: F401
from tests.test_api_media import png_bytes, upload, wait


@pytest.fixture
def client(tmp_path, database_url):  # noqa: F811
    from studio.api.app import create_api
    from studio.hosted import Hosted

    hosted = Hosted(make_settings(tmp_path / "home", database_url, daily_shorts=5, daily_renders=1))
    with TestClient(create_api(hosted)) as c:
        c.hosted = hosted
        yield c
    hosted.db.dispose()


def _made(client, who, photo_id: str) -> str:
    r = client.post("/api/shorts", headers=bearer(who), json={
        "script": "Mornings matter. Drink water first. Then walk outside.", "profile": "offline",
        "asset_ids": [photo_id]})
    assert r.status_code == 202, r.text
    job = wait(client, who, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    return job["short"]["id"]


def test_edit_render_every_format_restore_and_stale_edits(client):
    ada = signup(client, "ada@example.com")
    photo = upload(client, ada, png_bytes(480, 320)).json()  # a landscape photo
    short_id = _made(client, ada, photo["id"])

    got = client.get(f"/api/shorts/{short_id}/timeline", headers=bearer(ada))
    assert got.status_code == 200 and got.headers["x-short-version"] == "1"
    doc, etag = got.json(), got.headers["etag"]
    files = [sc["visual"] for sc in doc["scenes"] if sc["visual"]["kind"] == "photo"]
    assert files and all(v.get("asset") == photo["id"] and not v.get("path") for v in files)  # ids, never paths
    old_text = doc["scenes"][0]["text"]

    new_text = doc["scenes"][0]["text"] = "Mornings matter more than you think. " + old_text
    doc["scenes"][0].pop("words", None)
    url = f"/api/shorts/{short_id}/timeline"
    r = client.put(url, headers=bearer(ada), json=doc)
    assert r.status_code == 428 and r.json()["error"]["code"] == "if_match_required"
    r = client.put(url, headers={**bearer(ada), "If-Match": '"nope"'}, json=doc)
    assert r.status_code == 412 and r.json()["error"]["code"] == "stale_timeline"
    saved = client.put(url, headers={**bearer(ada), "If-Match": etag}, json=doc)
    assert saved.status_code == 200 and saved.headers["etag"] != etag
    r = client.put(url, headers={**bearer(ada), "If-Match": etag}, json=doc)  # the same edit again, from the old read
    assert r.status_code == 412
    assert client.get(url, headers=bearer(ada)).json()["scenes"][0]["text"] == new_text

    # a refused render costs nothing (the quota is 1 re-render a day)
    r = client.post(f"/api/shorts/{short_id}/render", headers=bearer(ada), json={"formats": ["2:3"]})
    assert r.status_code == 422 and "2:3" in r.json()["error"]["message"]
    r = client.post(f"/api/shorts/{short_id}/render", headers=bearer(ada), json={"formats": ["9:16", "1:1", "16:9"]})
    assert r.status_code == 202, r.text
    job = wait(client, ada, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    again = client.post(f"/api/shorts/{short_id}/render", headers=bearer(ada), json={})
    assert again.status_code == 429 and again.json()["error"]["code"] == "quota_exceeded"
    me = client.get("/api/me", headers=bearer(ada)).json()
    assert me["render_quota"] == {"daily_renders": 1, "used_today": 1, "remaining_today": 0}
    assert me["quota"]["used_today"] == 1  # re-renders are counted apart from new shorts

    versions = client.get(f"/api/shorts/{short_id}/versions", headers=bearer(ada)).json()
    assert versions["current"] == 2 and [v["number"] for v in versions["versions"]] == [2, 1]
    v2, v1 = versions["versions"]
    assert v2["current"] and v2["formats"] == ["9:16", "1:1", "16:9"]
    assert {"short.mp4", "short-1x1.mp4", "short-16x9.mp4", "thumbnail-1x1.jpg", "thumbnail-16x9.jpg"} <= set(v2["files"])
    assert "short-1x1.mp4" not in v1["files"]
    video = client.get(v2["files"]["short-16x9.mp4"])
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    short = client.get(f"/api/shorts/{short_id}", headers=bearer(ada)).json()
    assert short["version"] == 2 and "short-1x1.mp4" in short["files"]

    # restore version 1: its files and its timeline come back; the draft's ETag moves on
    r = client.post(f"/api/shorts/{short_id}/versions/1/restore", headers=bearer(ada))
    assert r.status_code == 200 and r.json()["version"] == 1 and "short-1x1.mp4" not in r.json()["files"]
    got = client.get(url, headers=bearer(ada))
    assert got.json()["scenes"][0]["text"] == old_text and got.headers["etag"] == r.headers["etag"]
    assert client.put(url, headers={**bearer(ada), "If-Match": saved.headers["etag"]}, json=doc).status_code == 412
    r = client.post(f"/api/shorts/{short_id}/versions/9/restore", headers=bearer(ada))
    assert r.status_code == 404 and r.json()["error"]["code"] == "version_not_found"
    assert client.get(f"/api/shorts/{short_id}/versions", headers=bearer(ada)).json()["current"] == 1

    # deleting the short deletes every version's files
    assert client.delete(f"/api/shorts/{short_id}", headers=bearer(ada)).status_code == 204
    assert client.get(v2["files"]["short-16x9.mp4"]).status_code == 404


def test_editing_tenancy_and_hostile_timelines(client):
    ada, bo = signup(client, "ada@example.com"), signup(client, "bo@example.com")
    photo = upload(client, ada, png_bytes()).json()
    bos_photo = upload(client, bo, png_bytes(color=(10, 200, 30))).json()
    short_id = _made(client, ada, photo["id"])
    got = client.get(f"/api/shorts/{short_id}/timeline", headers=bearer(ada))
    doc, etag = got.json(), got.headers["etag"]

    # Bo: every editing route answers exactly as for a short that does not exist
    missing = "0" * 32
    for method, path, kwargs in (
            ("get", "/timeline", {}), ("put", "/timeline", {"json": doc, "headers": {"If-Match": etag}}),
            ("post", "/render", {"json": {}}), ("get", "/versions", {}), ("post", "/versions/1/restore", {})):
        answers = []
        for sid in (short_id, missing):
            headers = {**bearer(bo), **kwargs.get("headers", {})}
            r = getattr(client, method)(f"/api/shorts/{sid}{path}", headers=headers,
                                        **{k: v for k, v in kwargs.items() if k != "headers"})
            answers.append((r.status_code, r.json()["error"]["code"]))
        assert answers[0] == answers[1] == (404, "short_not_found"), (path, answers)
    assert client.get("/api/me", headers=bearer(bo)).json()["render_quota"]["used_today"] == 0

    # Ada's edits naming Bo's asset, a missing one, a path, or breaking the schema are refused, naming the field
    url = f"/api/shorts/{short_id}/timeline"
    photo_at = next(i for i, sc in enumerate(doc["scenes"]) if sc["visual"]["kind"] == "photo")

    def put(visual=None, **scene):
        edited = {**doc, "scenes": [dict(sc) for sc in doc["scenes"]]}
        if visual is not None:
            edited["scenes"][photo_at]["visual"] = visual
        edited["scenes"][photo_at].update(scene)
        return client.put(url, headers={**bearer(ada), "If-Match": etag}, json=edited)

    foreign, unknown = put({"kind": "photo", "asset": bos_photo["id"]}), put({"kind": "photo", "asset": missing})
    assert foreign.status_code == unknown.status_code == 422
    assert (foreign.json()["error"]["message"].replace(bos_photo["id"], "X")
            == unknown.json()["error"]["message"].replace(missing, "X"))
    assert f"scenes[{photo_at}].visual.asset" in foreign.json()["error"]["message"]
    r = put({"kind": "photo", "path": "../../../etc/passwd"})
    assert r.status_code == 422 and "asset" in r.json()["error"]["message"]
    r = put(duration=-3)
    assert r.status_code == 422 and f"scenes[{photo_at}].duration" in r.json()["error"]["message"]
    r = put(text="{\\fs200}" * 10)  # ASS override tags are just words to the timeline
    assert r.status_code == 200
    r = client.put(url, headers={**bearer(ada), "If-Match": r.headers["etag"]}, json={**doc, "template": "nope"})
    assert r.status_code == 422 and "nope" in r.json()["error"]["message"]
    r = client.put(url, headers={**bearer(ada), "If-Match": etag}, json=[1, 2])
    assert r.status_code == 422

    # eight saves naming the same revision at once: exactly one lands, the rest are told it is stale
    from concurrent.futures import ThreadPoolExecutor

    current = client.get(url, headers=bearer(ada))
    doc, etag = current.json(), current.headers["etag"]

    def save(i: int) -> int:
        edited = {**doc, "scenes": [{**doc["scenes"][0], "caption": f"take {i}"}, *doc["scenes"][1:]]}
        return client.put(url, headers={**bearer(ada), "If-Match": etag}, json=edited).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(save, range(8)))
    assert codes == [200] + [412] * 7, codes

    # a render refused inside its job (the edit leaves the short under the platform's 3 s) costs nothing
    current = client.get(url, headers=bearer(ada))
    doc = current.json()
    short_doc = {**doc, "scenes": [{**doc["scenes"][0], "text": "Hi.", "caption": None, "words": [],
                                    "pause": 0.1, "duration": None}]}
    assert client.put(url, headers={**bearer(ada), "If-Match": current.headers["etag"]}, json=short_doc).status_code == 200
    r = client.post(f"/api/shorts/{short_id}/render", headers=bearer(ada), json={})
    assert r.status_code == 202
    job = wait(client, ada, r.json()["id"])
    assert job["status"] == "failed" and job["error"]["code"] == "invalid_request" and "3" in job["error"]["message"]
    assert client.get("/api/me", headers=bearer(ada)).json()["render_quota"]["used_today"] == 0


def test_each_account_has_its_own_template_library(client):
    ada, bo = signup(client, "ada@example.com"), signup(client, "bo@example.com")
    mine = {"version": 1, "extends": "bold", "label": "Mine", "highlight_color": "#00ff00", "caption_animation": "pop"}
    r = client.put("/api/templates/mine", headers=bearer(ada), json=mine)
    assert r.status_code == 200, r.text
    assert r.json()["fields"]["font_size"] == 188 and r.json()["fields"]["highlight_color"] == "#00ff00"  # inherited
    listed = {t["name"]: t for t in client.get("/api/templates", headers=bearer(ada)).json()["templates"]}
    assert not listed["mine"]["builtin"] and listed["bold"]["builtin"] and listed["mine"]["extends"] == "bold"

    # Bo sees only the built-in ones, and cannot use Ada's
    assert "mine" not in {t["name"] for t in client.get("/api/templates", headers=bearer(bo)).json()["templates"]}
    r = client.get("/api/templates/mine", headers=bearer(bo))
    assert r.status_code == 404 and r.json()["error"]["code"] == "template_not_found"
    assert client.delete("/api/templates/mine", headers=bearer(bo)).status_code == 404
    r = client.post("/api/shorts", headers=bearer(bo), json={"topic": "x", "template": "mine", "profile": "offline"})
    assert r.status_code == 422 and "mine" in r.json()["error"]["message"]

    # refused, naming the field: a cycle, a bad colour, an unknown font, a built-in's name
    assert client.put("/api/templates/second", headers=bearer(ada), json={**mine, "extends": "mine"}).status_code == 200
    r = client.put("/api/templates/mine", headers=bearer(ada), json={**mine, "extends": "second"})
    assert r.status_code == 422 and "extends" in r.json()["error"]["message"] and "cycle" in r.json()["error"]["message"]
    r = client.put("/api/templates/third", headers=bearer(ada), json={**mine, "highlight_color": "#12345"})
    assert r.status_code == 422 and "highlight_color" in r.json()["error"]["message"]
    r = client.put("/api/templates/third", headers=bearer(ada), json={**mine, "font": "No Such Font Sans"})
    assert r.status_code == 422 and "field font" in r.json()["error"]["message"]
    r = client.put("/api/templates/bold", headers=bearer(ada), json=mine)
    assert r.status_code == 422 and "built-in" in r.json()["error"]["message"]
    r = client.delete("/api/templates/mine", headers=bearer(ada))
    assert r.status_code == 422 and "second" in r.json()["error"]["message"]  # still extended by another

    # Ada's short takes her template, and a re-render uses it
    r = client.post("/api/shorts", headers=bearer(ada), json={
        "script": "Mornings matter. Drink water first. Then walk outside.", "profile": "offline", "template": "mine"})
    assert r.status_code == 202, r.text
    job = wait(client, ada, r.json()["id"])
    assert job["status"] == "succeeded", job["error"]
    got = client.get(f"/api/shorts/{job['short']['id']}/timeline", headers=bearer(ada))
    assert got.json()["template"] == "mine" and got.json()["caption_style"] == "pop"
    r = client.post(f"/api/shorts/{job['short']['id']}/render", headers=bearer(ada), json={})
    assert r.status_code == 202 and wait(client, ada, r.json()["id"])["status"] == "succeeded"
