"""The export bundle (studio/bundle.py) through its three edges: ``studio export SHORT_DIR --bundle FILE.zip``,
``GET /api/shorts/{id}/bundle`` (owner only) and the UI's signed download link, on a real rendered short."""

from __future__ import annotations

import io
import json
import os
import shutil
import unicodedata
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from studio.cli import app as cli

EXPECTED = ["README.txt", "short.mp4", "thumbnail.jpg", "captions.srt", "captions.vtt", "post-reels.txt",
            "post-shorts.txt", "post-tiktok.txt", "post.json"]


def _export(folder: Path, dest: Path, *extra: str):
    return CliRunner().invoke(cli, ["export", str(folder), "--bundle", str(dest), *extra])


def _copy(short, tmp_path: Path) -> Path:
    """A private copy of the session's short, for tests that change its files."""
    folder = tmp_path / "short"
    shutil.copytree(short.out_dir, folder, ignore=shutil.ignore_patterns(".work"))
    return folder


def _no_controls(text: str) -> bool:
    return all(ch in "\n\t\u200d\u200c\ufe0f" or unicodedata.category(ch)[0] != "C" for ch in text)


def test_cli_bundle_holds_the_short_and_its_bytes(topic_short, tmp_path):
    dest = tmp_path / "out" / "bundle.zip"
    dest.parent.mkdir()
    got = _export(topic_short.out_dir, dest)
    assert got.exit_code == 0, got.output
    with zipfile.ZipFile(dest) as zf:
        assert zf.namelist() == EXPECTED
        assert zf.testzip() is None
        assert zf.read("short.mp4") == topic_short.video.read_bytes()
        assert zf.read("thumbnail.jpg") == topic_short.thumbnail.read_bytes()
        assert zf.read("captions.srt") == topic_short.captions_srt.read_bytes()
        assert zf.read("post.json") == topic_short.post.read_bytes()
        for info in zf.infolist():
            stored = info.filename.endswith((".mp4", ".jpg"))
            assert info.compress_type == (zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED), info.filename
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
        readme = zf.read("README.txt").decode()
    for name in EXPECTED:
        assert name in readme
    for words in ("Add AI label", "up to 3 minutes", "AI-generated content", "Edit cover"):
        assert words in readme
    assert [p.name for p in dest.parent.iterdir()] == ["bundle.zip"]  # no .part left beside it


def test_each_platform_file_holds_that_platforms_text(topic_short, tmp_path):
    dest = tmp_path / "b.zip"
    assert _export(topic_short.out_dir, dest).exit_code == 0
    post = json.loads(topic_short.post.read_text(encoding="utf-8"))
    with zipfile.ZipFile(dest) as zf:
        texts = {name: zf.read(f"post-{name}.txt").decode() for name in ("reels", "shorts", "tiktok")}
    assert set(post["platforms"]) == set(texts)
    for name, text in texts.items():
        p = post["platforms"][name]
        assert p["caption"] in text, name
        assert all(tag in text for tag in p["hashtags"]), name
        assert f"{len(p['hashtags'])} of" in text
    assert "=== TITLE" in texts["shorts"] and post["platforms"]["shorts"]["title"] in texts["shorts"]
    assert "=== DESCRIPTION" in texts["shorts"]
    assert "=== TITLE" not in texts["reels"] and "=== TITLE" not in texts["tiktok"]  # no such box there
    assert "#shorts" in texts["shorts"] and "#shorts" not in texts["tiktok"]  # each its own tags, not one for all


def test_same_short_same_bytes_and_every_format_goes_in(topic_short, tmp_path):
    first, second = tmp_path / "1.zip", tmp_path / "2.zip"
    assert _export(topic_short.out_dir, first).exit_code == 0
    folder = _copy(topic_short, tmp_path)  # the same short, copied later: other file times, another folder
    for f in folder.iterdir():
        os.utime(f, (1_700_000_000, 1_700_000_000))
    assert _export(folder, second).exit_code == 0
    assert first.read_bytes() == second.read_bytes()

    # a short rendered in 1:1 too (studio render --format 9:16,1:1)
    shutil.copyfile(folder / "short.mp4", folder / "short-1x1.mp4")
    shutil.copyfile(folder / "thumbnail.jpg", folder / "thumbnail-1x1.jpg")
    (folder / "notes.txt").write_text("not part of a short")
    got = _export(folder, tmp_path / "3.zip")
    assert got.exit_code == 0, got.output
    with zipfile.ZipFile(tmp_path / "3.zip") as zf:
        names = zf.namelist()
        assert names[:5] == ["README.txt", "short.mp4", "short-1x1.mp4", "thumbnail.jpg", "thumbnail-1x1.jpg"]
        assert "notes.txt" not in names and "timeline.json" not in names
        assert "Square 1:1" in zf.read("README.txt").decode()


def test_hostile_post_text_cannot_escape_or_hide(topic_short, tmp_path):
    folder = _copy(topic_short, tmp_path)
    evil = {"title": "../../../etc/passwd\x00", "caption": "top", "hashtags": ["#top"],
            "platforms": {
                "../../escaped": {"title": "x", "caption": "zip slip", "hashtags": []},
                "/abs": {"title": "x", "caption": "absolute", "hashtags": []},
                "reels": {"title": "T\x1b[2J", "caption": "Hi\x1b[31m red\u202eevil\r\nsecond\x07 line\u200d😀",
                          "hashtags": ["#ok", "#a\nb", "../x", 5, None, "#bell\x07"]},
                "shorts": "not an object",
            }}
    (folder / "post.json").write_text(json.dumps(evil), encoding="utf-8")
    dest = tmp_path / "evil.zip"
    got = _export(folder, dest)
    assert got.exit_code == 0, got.output
    with zipfile.ZipFile(dest) as zf:
        assert zf.namelist() == EXPECTED  # the platforms come from configs/platforms.yaml, never from post.json
        texts = {n: zf.read(n).decode() for n in zf.namelist() if n.endswith(".txt")}
        zf.extractall(tmp_path / "unpacked")
    assert sorted(p.name for p in (tmp_path / "unpacked").rglob("*")) == sorted(EXPECTED)
    assert not (tmp_path / "escaped").exists()
    for name, text in texts.items():
        assert _no_controls(text), name
        assert "\u202e" not in text and "zip slip" not in text and "absolute" not in text
    reels = texts["post-reels.txt"]
    assert "Hi[31m redevil\nsecond line\u200d😀" in reels  # the words stay, the controls go
    assert "#ok" in reels and "#ab" in reels and "#bell" in reels and "../x" not in reels
    assert "top" in texts["post-shorts.txt"]  # an entry that is not an object: the short's own text stands in


def test_cli_errors_name_the_flag_and_the_missing_file(topic_short, tmp_path):
    folder = _copy(topic_short, tmp_path)
    (folder / "post.json").unlink()
    (folder / "captions.vtt").unlink()
    got = _export(folder, tmp_path / "a.zip")
    assert got.exit_code == 2 and "SHORT_DIR" in got.output and "post.json" in got.output
    assert "captions.vtt" in got.output and not (tmp_path / "a.zip").exists()

    got = _export(tmp_path / "nowhere", tmp_path / "a.zip")
    assert got.exit_code == 2 and "SHORT_DIR" in got.output and "not a folder" in got.output

    got = _export(topic_short.out_dir, tmp_path / "missing" / "a.zip")
    assert got.exit_code == 2 and "--bundle" in got.output and "does not exist" in got.output

    got = _export(topic_short.out_dir, tmp_path / "a.tar")
    assert got.exit_code == 2 and "--bundle" in got.output and ".zip" in got.output

    taken = tmp_path / "taken.zip"
    taken.write_bytes(b"mine")
    got = _export(topic_short.out_dir, taken)
    assert got.exit_code == 2 and "already exists" in got.output and "--force" in got.output
    assert taken.read_bytes() == b"mine"
    got = _export(topic_short.out_dir, taken, "--force")
    assert got.exit_code == 0, got.output
    assert zipfile.is_zipfile(taken)


def test_only_the_short_files_are_taken_from_a_name_list():
    from models.errors import InvalidRequest
    from studio.bundle import bundle_names, download_name

    names = ["short.mp4", "thumbnail.jpg", "captions.srt", "captions.vtt", "post.json", "../short.mp4",
             "short-1x1.mp4/../../x", "short-../../x.mp4", "/etc/passwd", "report.json", "thumbnail-2x3.jpg"]
    assert bundle_names(names) == ["short.mp4", "thumbnail.jpg", "thumbnail-2x3.jpg", "captions.srt",
                                   "captions.vtt", "post.json"]
    with pytest.raises(InvalidRequest, match="no short.mp4, post.json"):
        bundle_names(["thumbnail.jpg", "captions.srt", "captions.vtt", "../short.mp4"])
    assert download_name("../../Ünïcode / title: 5 habits!") == "Unicode-title-5-habits.zip"
    assert download_name("\x00../..") == "short.zip"


@pytest.fixture
def hosted_client(tmp_path):
    from studio.api.app import create_api
    from studio.hosted import Hosted
    from tests.api_helpers import make_settings

    hosted = Hosted(make_settings(tmp_path / "home"))
    hosted.runner.work = lambda job_id: None  # no short is made here: one is saved directly
    with TestClient(create_api(hosted)) as c:
        c.hosted = hosted
        yield c
    hosted.db.dispose()


def test_api_owner_gets_the_zip_others_get_404(hosted_client, topic_short, tmp_path):
    from studio.api.bundle_routes import bundle_link
    from tests.api_helpers import bearer, signup

    client, hosted = hosted_client, hosted_client.hosted
    ada, bob = signup(client, "ada@example.com"), signup(client, "bob@example.com")
    short_id = hosted.save_short(ada["user"]["id"], None, topic_short)
    url = f"/api/shorts/{short_id}/bundle"

    got = client.get(url, headers=bearer(ada))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    assert got.headers["content-disposition"] == 'attachment; filename="5-habits-that-changed-my-mornings.zip"'
    with zipfile.ZipFile(io.BytesIO(got.content)) as zf:
        assert zf.namelist() == EXPECTED
        assert zf.read("short.mp4") == topic_short.video.read_bytes()
    assert client.get(url, headers=bearer(ada)).content == got.content  # same short, same bytes
    assert _export(topic_short.out_dir, tmp_path / "cli.zip").exit_code == 0
    assert (tmp_path / "cli.zip").read_bytes() == got.content  # the CLI and the API build the very same zip

    for who, status in ((bob, 404), (None, 401)):
        r = client.get(url, headers=bearer(who) if who else {})
        assert r.status_code == status and r.json()["error"]["code"] in ("short_not_found", "missing_token")
        assert not r.content.startswith(b"PK")
    assert client.get("/api/shorts/nope/bundle", headers=bearer(ada)).status_code == 404
    assert not list(Path(hosted.settings.home).rglob("bundle.zip"))  # scratch zips go once they are sent

    # the UI's button: a signed link that needs no Bearer token, names no path, and cannot be altered
    link = bundle_link(hosted, short_id)
    assert link.startswith("/files/bundle/")
    assert client.get(link).content == got.content
    assert client.get(link[:-2] + ("AA" if not link.endswith("AA") else "BB")).status_code == 404
    assert client.get(bundle_link(hosted, "someone-elses-or-gone")).status_code == 404


def test_the_page_shows_the_download_button():
    from studio.ui import short_html
    from studio.ui_hooks import ShortView

    view = ShortView("s1", "Title", {"short.mp4": "/files/abc", "thumbnail.jpg": "/files/def"})
    assert "manual posting" not in short_html(view)
    page = short_html(view, "/files/bundle/tok")
    assert 'href="/files/bundle/tok" download' in page and "Download for manual posting (.zip)" in page
