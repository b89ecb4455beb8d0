"""The Gradio app, launched for real, makes a video for a gradio_client caller."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_app(home: Path, log: Path, **env_extra: str) -> tuple[subprocess.Popen, str]:
    """``python app.py`` as a user starts it, on a free port; answers the process and the UI's address."""
    port = _free_port()
    env = {**os.environ, "STUDIO_HOME": str(home), "GRADIO_SERVER_PORT": str(port),
           "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", **env_extra}
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}/studio/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    proc, url = launch_app(tmp_path_factory.mktemp("ui-home"), tmp_path_factory.mktemp("ui-log") / "log.txt")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_ui_returns_a_real_video(server, tmp_path):
    """The anonymous demo, called as a script would: a photo uploaded through the UI's upload route is used, and
    the short comes back as signed links (never server paths) to a real H.264 1080×1920 file."""
    import re
    import urllib.request

    from gradio_client import Client, handle_file

    from tests.test_api_media import png_bytes

    photo = tmp_path / "me.png"
    photo.write_bytes(png_bytes())
    client = Client(server, verbose=False)
    preview, stages, checks, notes = client.predict(
        "3 tips for better sleep", "", "reels", 10, "narrator", "bold", "en", [handle_file(str(photo))], "offline", "",
        False, "block", None, False, api_name="/create")
    links = {name: url.replace("&amp;", "&") for url, name in re.findall(r'<a href="([^"]+)" download="([^"]+)"',
                                                                       preview)}
    assert set(links) == {"short.mp4", "captions.srt", "captions.vtt", "thumbnail.jpg", "post.json", "report.json",
                          "timeline.json"}
    assert all(url.startswith("/files/") for url in links.values())
    video = tmp_path / "short.mp4"
    root = server.split("/studio/")[0]
    with urllib.request.urlopen(root + links["short.mp4"], timeout=30) as r:
        video.write_bytes(r.read())
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height",
                            "-of", "csv=p=0", str(video)], capture_output=True, text=True, check=True).stdout
    assert "h264,1080,1920" in probe
    engines = {row[0]: row[1] for row in stages["data"]}
    assert engines["voice"] == "espeak-ng" and engines["render"] == "ffmpeg" and engines["stills"] == "creator-photos"
    assert "✗" not in checks
    assert "safety: images were not checked" in notes  # the offline scorer says what it could not do


def test_the_creators_music_track_through_the_ui(server, tmp_path):
    """A music upload is fitted and ducked (report.json says whose track it is); a file that is not audio is
    refused in plain words."""
    import json
    import re
    import urllib.request

    import httpx
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    song = tmp_path / "song.mp3"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=4", "-ac", "2",
                    str(song)], check=True)
    client = Client(server, verbose=False)
    preview, *_ = client.predict("", "Coffee first. Then sunlight. Then the hard task.", "reels", 10, "narrator",
                                 "bold", "en", None, "offline", "", False, "block", None, False, "",
                                 handle_file(str(song)), api_name="/create")
    report_url = dict((n, u) for u, n in re.findall(r'<a href="([^"]+)" download="([^"]+)"', preview))["report.json"]
    with urllib.request.urlopen(server.split("/studio/")[0] + report_url.replace("&amp;", "&"), timeout=30) as r:
        report = json.loads(r.read())
    assert report["music"]["source"] == "creator-track" and report["engines"]["music"] == "creator-track"
    fake = tmp_path / "fake.mp3"
    fake.write_text("not music at all " * 20)
    with pytest.raises(httpx.HTTPStatusError) as err:  # refused by the upload route, by its bytes
        client.predict("", "Coffee first.", "reels", 10, "narrator", "bold", "en", None, "offline", "", False,
                       "block", None, False, "", handle_file(str(fake)), api_name="/create")
    assert err.value.response.status_code == 415
    assert "not a supported image, video or audio file" in err.value.response.text
    long = tmp_path / "long.mp3"  # real audio, but 10.5 minutes: refused when the short is asked for, in words
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:duration=630", "-b:a", "32k",
                    str(long)], check=True)
    with pytest.raises(AppError) as refused:
        client.predict("", "Coffee first.", "reels", 10, "narrator", "bold", "en", None, "offline", "", False,
                       "block", None, False, "", handle_file(str(long)), api_name="/create")
    assert "10" in str(refused.value) and "minutes" in str(refused.value)


def test_ui_shows_errors_as_messages(server):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(server, verbose=False)
    with pytest.raises(AppError) as err:
        client.predict("", "", "reels", 10, "narrator", "bold", "en", None, "offline", "", False, "block", None,
                       False, api_name="/create")
    assert "either a topic or a script" in str(err.value)


def test_demo_has_a_daily_quota_per_visitor(tmp_path):
    """`python app.py` (the Space) is the anonymous demo: each address gets STUDIO_DEMO_DAILY_SHORTS a day."""
    from gradio_client import Client

    port = _free_port()
    env = {**os.environ, "STUDIO_HOME": str(tmp_path / "home"), "GRADIO_SERVER_PORT": str(port),
           "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", "STUDIO_DEMO_DAILY_SHORTS": "1"}
    env.pop("STUDIO_AUTH", None)
    with open(tmp_path / "log.txt", "w") as fh:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline and proc.poll() is None, (tmp_path / "log.txt").read_text()
                time.sleep(0.5)
        client = Client(f"http://127.0.0.1:{port}/studio/", verbose=False)
        args = ("sleep", "", "reels", 5, "narrator", "bold", "en", None, "offline", "", False, "block", None, False)
        client.predict(*args, api_name="/create")
        with pytest.raises(Exception) as err:
            client.predict(*args, api_name="/create")
        assert "1 shorts for today" in str(err.value) and "midnight UTC" in str(err.value)
        bad = ("", "", "reels", 5, "narrator", "bold", "en", None, "offline", "", False, "block", None, False)
        with pytest.raises(Exception) as err:  # a refused request is refused for its own reason, not the quota
            client.predict(*bad, api_name="/create")
        assert "Give either a topic or a script" in str(err.value)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
