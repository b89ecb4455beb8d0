"""The stock stills engine at the HTTP boundary: fakes of Pexels and Pixabay that answer with the JSON their API
documentation shows (photos[] / hits[]), their rate limits (429; Pexels' reset is a UNIX time and named only on
2xx answers, Pixabay's is seconds from now), empty results and a body that is not an image; then one short whose
post.json and report.json carry the photo's licence and author, and the scene no photo was found for is said."""

import io
import json
import time

import httpx
import pytest
import respx
import yaml
from PIL import Image

from models.errors import EngineFailed
from models.stills.stock import PEXELS_URL, PIXABAY_URL, StockStills, pick, search_terms
from models.types import StillSpec
from pipelines.types import ShortRequest
from studio.engines import choose_engines
from tests.profiles import studio_with_profile

SPEC = StillSpec("A lighthouse on a rocky coast at dusk, vertical, cinematic, 8k", 540, 960, seed=0)


def jpeg(width: int, height: int, colour=(200, 120, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def pexels_photo(pid: int, width: int, height: int) -> dict:
    """One item of a Pexels search answer, as its API documentation shows it."""
    original = f"https://images.pexels.com/photos/{pid}/pexels-photo-{pid}.jpeg"
    return {"id": pid, "width": width, "height": height, "url": f"https://www.pexels.com/photo/lighthouse-{pid}/",
            "photographer": "Ana Costa", "photographer_url": "https://www.pexels.com/@ana-costa",
            "photographer_id": 77, "avg_color": "#7E8B91", "liked": False, "alt": "A lighthouse at dusk",
            "src": {"original": original, "large2x": f"{original}?auto=compress&cs=tinysrgb&dpr=2&h=650&w=940",
                    "large": f"{original}?auto=compress&cs=tinysrgb&h=650&w=940",
                    "medium": f"{original}?auto=compress&cs=tinysrgb&h=350",
                    "small": f"{original}?auto=compress&cs=tinysrgb&h=130",
                    "portrait": f"{original}?auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800",
                    "landscape": f"{original}?auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200",
                    "tiny": f"{original}?auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280"}}


def pexels_answer(*photos: dict) -> dict:
    return {"page": 1, "per_page": 15, "photos": list(photos), "total_results": len(photos),
            "next_page": "https://api.pexels.com/v1/search/?page=2&per_page=15&query=lighthouse"}


def pixabay_hit(pid: int, width: int, height: int) -> dict:
    """One item of a Pixabay search answer, as its API documentation shows it."""
    return {"id": pid, "pageURL": f"https://pixabay.com/photos/lighthouse-coast-{pid}/", "type": "photo",
            "tags": "lighthouse, coast, dusk", "previewURL": f"https://cdn.pixabay.com/photo/x/{pid}_150.jpg",
            "previewWidth": 100, "previewHeight": 150, "webformatURL": f"https://pixabay.com/get/{pid}_640.jpg",
            "webformatWidth": 427, "webformatHeight": 640, "largeImageURL": f"https://pixabay.com/get/{pid}_1280.jpg",
            "imageWidth": width, "imageHeight": height, "imageSize": 2_000_000, "views": 10, "downloads": 5,
            "collections": 1, "likes": 3, "comments": 0, "user_id": 1234, "user": "Seaside",
            "userImageURL": "https://cdn.pixabay.com/user/x.jpg"}


def pixabay_answer(*hits: dict) -> dict:
    return {"total": len(hits), "totalHits": len(hits), "hits": list(hits)}


def engine(tmp_path, **keys) -> StockStills:
    return StockStills(cache_dir=str(tmp_path / "stock"), retry_wait=0, **keys)


def test_search_terms_keep_what_is_in_the_picture():
    assert search_terms(SPEC.prompt) == "lighthouse rocky coast dusk"
    assert search_terms("5 habits that changed my mornings, scene 2, vertical, cinematic, vibrant") == \
        "habits changed mornings"
    assert search_terms("hábitos matutinos, escena 3, vertical, cinematográfico") == "hábitos matutinos"
    assert search_terms("vertical, cinematic, 4k") == ""


def test_pick_prefers_the_frames_shape_and_spreads_scenes_over_equals():
    from models.stills.stock import Photo

    def photo(pid, w, h):
        return Photo("pexels", str(pid), w, h, "u", None)  # type: ignore[arg-type]

    wide, two_three, nine_sixteen = photo(1, 1600, 900), photo(2, 800, 1200), photo(3, 900, 1600)
    assert pick([wide, two_three, nine_sixteen], 540, 960, seed=0) is nine_sixteen
    twins = [photo(4, 900, 1600), photo(5, 900, 1600)]
    assert {pick(twins, 540, 960, seed=s).id for s in (0, 1)} == {"4", "5"}


@respx.mock
def test_pexels_photo_is_downloaded_checked_and_credited(tmp_path):
    search = respx.get(PEXELS_URL).mock(return_value=httpx.Response(200, json=pexels_answer(
        pexels_photo(11, 1600, 1000), pexels_photo(12, 900, 1600)), headers={"X-Ratelimit-Limit": "20000",
                                                                           "X-Ratelimit-Remaining": "19999",
                                                                           "X-Ratelimit-Reset": "1900000000"}))
    image = respx.get(url__startswith="https://images.pexels.com/photos/12/").mock(
        return_value=httpx.Response(200, content=jpeg(90, 160), headers={"Content-Type": "image/jpeg"}))

    path, credit = engine(tmp_path, pexels_key="PK").generate_credited(SPEC, tmp_path / "out.jpg")

    asked = search.calls.last.request
    assert asked.headers["Authorization"] == "PK"
    assert dict(asked.url.params) == {"query": "lighthouse rocky coast dusk", "orientation": "portrait",
                                      "per_page": "15", "locale": "en-US"}
    assert "h=960" in str(image.calls.last.request.url)  # resized by Pexels to the frame's height, not the original
    with Image.open(path) as im:
        assert im.format == "JPEG" and im.size == (90, 160)
    assert credit is not None and credit.provider == "pexels"
    assert (credit.url, credit.author, credit.author_url) == (
        "https://www.pexels.com/photo/lighthouse-12/", "Ana Costa", "https://www.pexels.com/@ana-costa")
    assert (credit.licence, credit.licence_url) == ("Pexels License", "https://www.pexels.com/license/")

    # cached by query: another engine (a new process) asks neither the API nor the image host again
    again, credit2 = engine(tmp_path, pexels_key="PK").generate_credited(SPEC, tmp_path / "again.jpg")
    assert search.call_count == 1 and image.call_count == 1 and credit2 == credit and again.is_file()


@respx.mock
def test_pixabay_photo_is_credited_to_its_user(tmp_path):
    search = respx.get(PIXABAY_URL).mock(return_value=httpx.Response(200, json=pixabay_answer(
        pixabay_hit(21, 3000, 2000), pixabay_hit(22, 2160, 3840))))
    respx.get("https://pixabay.com/get/22_1280.jpg").mock(return_value=httpx.Response(200, content=jpeg(72, 128)))

    path, credit = engine(tmp_path, pixabay_key="XK").generate_credited(SPEC, tmp_path / "out.jpg")

    params = dict(search.calls.last.request.url.params)
    assert params == {"key": "XK", "q": "lighthouse rocky coast dusk", "image_type": "photo",
                      "orientation": "vertical", "per_page": "15", "safesearch": "true", "lang": "en"}
    assert Image.open(path).size == (72, 128)
    assert credit is not None and (credit.provider, credit.url, credit.author, credit.author_url, credit.licence) == (
        "pixabay", "https://pixabay.com/photos/lighthouse-coast-22/", "Seaside",
        "https://pixabay.com/users/Seaside-1234/", "Pixabay Content License")


@respx.mock
def test_pexels_429_names_the_reset_time_and_is_not_asked_again(tmp_path):
    reset = int(time.time()) + 3 * 3600
    search = respx.get(PEXELS_URL).mock(return_value=httpx.Response(
        429, text="Too Many Requests", headers={"X-Ratelimit-Limit": "20000", "X-Ratelimit-Remaining": "0",
                                                "X-Ratelimit-Reset": str(reset)}))
    stock = engine(tmp_path, pexels_key="PK")
    with pytest.raises(EngineFailed) as failed:
        stock.generate(SPEC, tmp_path / "out.jpg")
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(reset))
    assert "Pexels rate limit reached (HTTP 429)" in failed.value.message and when in failed.value.message
    assert "in 3 h" in failed.value.message
    with pytest.raises(EngineFailed, match="rate limit"):  # the next scene does not spend a request
        stock.generate(StillSpec("a red bicycle", 540, 960, seed=1), tmp_path / "next.jpg")
    assert search.call_count == 1


@respx.mock
def test_pexels_429_without_the_header_uses_the_reset_a_2xx_answer_named(tmp_path):
    reset = int(time.time()) + 600
    respx.get(PEXELS_URL, params={"query": "lighthouse rocky coast dusk"}).mock(return_value=httpx.Response(
        200, json=pexels_answer(pexels_photo(12, 900, 1600)), headers={"X-Ratelimit-Reset": str(reset)}))
    respx.get(url__startswith="https://images.pexels.com/").mock(return_value=httpx.Response(200, content=jpeg(9, 16)))
    respx.get(PEXELS_URL, params={"query": "red bicycle"}).mock(return_value=httpx.Response(429))
    stock = engine(tmp_path, pexels_key="PK")
    stock.generate(SPEC, tmp_path / "one.jpg")
    with pytest.raises(EngineFailed, match=r"resets at .* \(in 10 min\)"):
        stock.generate(StillSpec("a red bicycle", 540, 960, seed=1), tmp_path / "two.jpg")


@respx.mock
def test_pixabay_429_reset_is_seconds_from_now(tmp_path):
    respx.get(PIXABAY_URL).mock(return_value=httpx.Response(429, text="[ERROR 429] Too many requests",
                                                           headers={"X-RateLimit-Reset": "42"}))
    with pytest.raises(EngineFailed, match=r"Pixabay rate limit reached \(HTTP 429\); it resets at .* \(in 4[12] s\)"):
        engine(tmp_path, pixabay_key="XK").generate(SPEC, tmp_path / "out.jpg")


@respx.mock
def test_empty_results_from_every_provider_name_each(tmp_path):
    respx.get(PEXELS_URL).mock(return_value=httpx.Response(200, json=pexels_answer()))
    respx.get(PIXABAY_URL).mock(return_value=httpx.Response(200, json=pixabay_answer()))
    with pytest.raises(EngineFailed) as failed:
        engine(tmp_path, pexels_key="PK", pixabay_key="XK").generate(SPEC, tmp_path / "out.jpg")
    assert failed.value.message == ("No stock photo: Pexels found no photos for 'lighthouse rocky coast dusk'; "
                                    "Pixabay found no photos for 'lighthouse rocky coast dusk'.")


@respx.mock
def test_a_body_that_is_not_an_image_is_refused_and_the_next_provider_tried(tmp_path):
    respx.get(PEXELS_URL).mock(return_value=httpx.Response(200, json=pexels_answer(pexels_photo(12, 900, 1600))))
    respx.get(url__startswith="https://images.pexels.com/").mock(return_value=httpx.Response(
        200, content=b"<html><body>Sign in to continue</body></html>", headers={"Content-Type": "image/jpeg"}))
    respx.get(PIXABAY_URL).mock(return_value=httpx.Response(200, json=pixabay_answer(pixabay_hit(22, 2160, 3840))))
    respx.get("https://pixabay.com/get/22_1280.jpg").mock(return_value=httpx.Response(200, content=jpeg(72, 128)))
    stock = engine(tmp_path, pexels_key="PK", pixabay_key="XK")
    path, credit = stock.generate_credited(SPEC, tmp_path / "out.jpg")
    assert credit is not None and credit.provider == "pixabay" and Image.open(path).format == "JPEG"
    assert not (tmp_path / "stock" / "pexels" / "images" / "12.img").exists()  # refused bytes are not cached


@respx.mock
def test_a_truncated_image_or_one_over_the_size_limit_is_refused(tmp_path):
    respx.get(PEXELS_URL).mock(return_value=httpx.Response(200, json=pexels_answer(pexels_photo(12, 900, 1600))))
    image = respx.get(url__startswith="https://images.pexels.com/")
    image.mock(return_value=httpx.Response(200, content=jpeg(90, 160)[:200]))
    with pytest.raises(EngineFailed, match="could not be decoded as an image"):
        engine(tmp_path, pexels_key="PK").generate(SPEC, tmp_path / "out.jpg")
    image.mock(return_value=httpx.Response(200, content=jpeg(90, 160)))
    small = StockStills(pexels_key="PK", cache_dir=str(tmp_path / "other"), max_bytes=100, retry_wait=0)
    with pytest.raises(EngineFailed, match="over the 0 MiB limit|MiB limit"):
        small.generate(SPEC, tmp_path / "out.jpg")


@respx.mock
def test_a_refused_key_and_an_unreachable_host_are_said(tmp_path):
    respx.get(PEXELS_URL).mock(return_value=httpx.Response(401, json={"error": "Unauthorized"}))
    respx.get(PIXABAY_URL).mock(side_effect=httpx.ConnectError("no route to host"))
    with pytest.raises(EngineFailed) as failed:
        engine(tmp_path, pexels_key="PK", pixabay_key="XK").generate(SPEC, tmp_path / "out.jpg")
    assert "Pexels refused the API key (HTTP 401)" in failed.value.message
    assert "Pixabay could not be reached (ConnectError: no route to host) after 3 tries" in failed.value.message


def _choose(studio, profile, strict=False):
    s = studio.settings
    return choose_engines(s, studio.models, profile, s.voice("narrator", "en"), "en", strict=strict)


def test_how_stock_is_chosen(tmp_path):
    studio = studio_with_profile(tmp_path, "stockfirst", stills={"engine": "procedural", "stock_first": True})
    profiles = studio.settings.configs / "profiles"
    only = yaml.safe_load((profiles / "stockfirst.yaml").read_text())
    (profiles / "stockonly.yaml").write_text(yaml.safe_dump({**only, "stills": {"engine": "stock"}}))
    # no key: stock_first quietly keeps the profile's engine; asking for stock itself says which variables to set
    quiet = _choose(studio, "stockfirst")
    assert quiet.engines.names["stills"] == "procedural" and not quiet.warnings and not quiet.engines.fallbacks
    loud = _choose(studio, "stockonly")
    assert loud.engines.names["stills"] == "procedural"
    assert any("STUDIO_PEXELS_KEY" in w and "STUDIO_PIXABAY_KEY" in w for w in loud.warnings), loud.warnings
    # a key: stock in front, the profile's own engine (or the floor) behind it for scenes stock finds nothing for
    studio.settings.pexels_key = "PK"
    first = _choose(studio, "stockfirst")
    assert first.engines.names["stills"] == "stock" and first.engines.fallbacks["stills"][0] == "procedural"
    assert first.engines.stills.providers == ["pexels"] and "PK" not in repr(first.engines.stills)
    assert _choose(studio, "stockonly").engines.fallbacks["stills"][0] == "procedural"
    assert not _choose(studio, "stockfirst", strict=True).engines.fallbacks  # --strict: a failed scene is an error
    assert "PK" not in repr(studio.settings)


def test_the_cpu_profile_puts_stock_first(tmp_path):
    from studio.settings import Settings

    assert Settings(home=tmp_path).profile("cpu")["stills"].get("stock_first") is True


@respx.mock
def test_a_short_credits_its_stock_photo_and_says_which_scene_had_none(tmp_path):
    """One short (offline engines, stock stills): the lighthouse scene gets a Pexels photo, the other scene's search
    finds nothing and the floor makes its still, with a warning naming it."""
    def search(request: httpx.Request) -> httpx.Response:
        found = "lighthouse" in request.url.params["query"]
        return httpx.Response(200, json=pexels_answer(pexels_photo(12, 900, 1600)) if found else pexels_answer())

    respx.get(PEXELS_URL).mock(side_effect=search)
    respx.get(url__startswith="https://images.pexels.com/").mock(
        return_value=httpx.Response(200, content=jpeg(270, 480)))
    studio = studio_with_profile(tmp_path, "stockfirst", stills={"engine": "procedural", "stock_first": True})
    studio.settings.pexels_key = "PK"
    result = studio.make(ShortRequest(script="A lighthouse guards the rocky coast.\nQuiet numbers add up slowly.",
                                      profile="stockfirst"), out_dir=tmp_path / "short")

    post = json.loads(result.post.read_text(encoding="utf-8"))
    report = json.loads(result.report_path.read_text(encoding="utf-8"))
    credit = {"provider": "pexels", "url": "https://www.pexels.com/photo/lighthouse-12/", "author": "Ana Costa",
              "author_url": "https://www.pexels.com/@ana-costa", "licence": "Pexels License",
              "licence_url": "https://www.pexels.com/license/"}
    assert post["credits"] == [credit]
    first, second = report["scenes"]
    assert first["credit"] == credit and second["credit"] is None
    assert report["engines"]["stills"] == "stock"
    said = [w for w in report["warnings"] if w.startswith("stills:")]
    assert len(said) == 1 and second["id"] in said[0] and "Pexels found no photos for 'quiet numbers add slowly'" in \
        said[0] and "procedural" in said[0], report["warnings"]
