"""The Create tab in a real browser on a phone-sized screen (Debian's Chromium driven by Playwright)."""

import os
import re
import shutil

import pytest

from tests.test_ui import server  # noqa: F401  (the same real app.py process)

CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)")
def test_create_tab_fits_a_phone_and_makes_a_short(server, tmp_path):  # noqa: F811
    """On a phone: a topic with no language model on this machine becomes an outline in the script box (no video);
    Create again renders it with one progress bar and the button disabled meanwhile; the post text of each platform
    is shown, and an edited caption is saved into post.json."""
    import json
    import urllib.request

    from playwright.sync_api import sync_playwright

    def overflow(page) -> int:
        return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
        page.goto(server)
        page.get_by_role("textbox", name="Topic", exact=True).fill("3 tips for better sleep")
        button = page.get_by_role("button", name="Create short")
        button.wait_for(state="visible", timeout=15_000)  # a loaded machine may draw the page late
        assert overflow(page) <= 0, f"the page scrolls sideways by {overflow(page)}px on a phone"

        # 1. No language model here (the test machine has no weights): the topic becomes an outline to edit
        button.click()
        script = page.locator("#script-box textarea")
        page.wait_for_function("document.querySelector('#script-box textarea').value.split('\\n').length >= 3",
                               timeout=90_000)
        assert "outline" in page.locator("#outline-note").inner_text()
        page.wait_for_function("!document.querySelector('#create').disabled", timeout=30_000)
        assert page.locator(".short-result video").count() == 0  # nothing was rendered
        script.fill(script.input_value().replace("Number 1.", "First,"))

        # 2. Create again: the script is rendered, with one progress bar, the button disabled until it is done
        button.click()
        page.wait_for_selector(".progress-bar", timeout=60_000)
        during = page.evaluate("""() => ({bars: [...document.querySelectorAll('.progress-bar')]
            .filter(e => e.offsetParent !== null).length, disabled: document.querySelector('#create').disabled})""")
        assert during == {"bars": 1, "disabled": True}, during
        page.wait_for_selector(".short-result video", timeout=180_000)
        page.wait_for_function("document.querySelector('.short-result video').readyState >= 1", timeout=30_000)
        page.wait_for_function("!document.querySelector('#create').disabled", timeout=30_000)
        src = page.eval_on_selector(".short-result video", "v => v.currentSrc || v.src")
        assert "/files/" in src  # a signed link, playable: its length is known
        assert page.eval_on_selector(".short-result video", "v => v.duration") > 4
        width = page.eval_on_selector(".short-result video", "v => v.getBoundingClientRect().width")
        assert width >= 300, f"the preview is only {width}px wide on a 390px phone"
        assert page.locator(".stage-table").get_by_text("piper").first.is_visible()  # the default voice spoke
        result = page.locator(".short-result").inner_text() + page.locator("#short-notes").inner_text()
        assert "/tmp" not in result and "studio models" not in result and "--" not in result
        assert re.search(r"Made in [\d a-z]+ of compute on this machine \(CPU\) · the same work on paid APIs: ", result)
        assert overflow(page) <= 0, f"the result scrolls sideways by {overflow(page)}px on a phone"
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)

        # 3. The post text of each platform, editable; an edited caption reaches post.json
        for tab in ("Reels", "Shorts", "TikTok"):
            page.get_by_role("tab", name=tab, exact=True).click()
            name = {"Reels": "reels", "Shorts": "shorts", "TikTok": "tiktok"}[tab]
            assert page.locator(f"#post-{name}-caption textarea").input_value().strip()
            assert page.locator(f"#post-{name}-tags textarea").input_value().startswith("#")
        caption = "Sleep is a skill. Which tip first? 🌙\n\n#sleep #fyp"
        page.locator("#post-tiktok-caption textarea").fill(caption)
        page.locator("#save-post").click()
        page.wait_for_function("document.querySelector('#post-status').innerText.includes('Saved')", timeout=30_000)
        page.wait_for_function("document.querySelector('.short-files a[download=\"post.json\"]') !== null")
        link = page.eval_on_selector(".short-files a[download='post.json']", "a => a.href")
        with urllib.request.urlopen(link, timeout=30) as r:
            post = json.loads(r.read())
        assert post["platforms"]["tiktok"]["caption"] == caption

        # 4. The fallbacks' one line leads to the Models tab, whose engines table fits the phone too
        page.locator("#short-notes").get_by_text("Download models").click()
        page.wait_for_selector("#engines-table", state="visible", timeout=30_000)
        page.wait_for_function("document.querySelector('#engines-table').innerText.includes('floor')", timeout=60_000)
        assert overflow(page) <= 0, f"the Models tab scrolls sideways by {overflow(page)}px on a phone"
        page.screenshot(path=str(tmp_path / "models.png"), full_page=True)
        browser.close()


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)")
def test_an_error_with_a_remedy_offers_a_button_that_applies_it(server, tmp_path):  # noqa: F811
    """A voice sample without consent: the error says so, and a button ticks the box once the creator clicks it."""
    import wave

    from playwright.sync_api import sync_playwright

    sample = tmp_path / "voice.wav"
    with wave.open(str(sample), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x10" * 16000 * 7)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(server)
        page.get_by_role("textbox", name="Topic", exact=True).fill("3 tips for better sleep")
        page.get_by_text("Engines").first.click()
        page.locator("#voice-sample-upload input[type=file]").set_input_files(str(sample))
        page.get_by_text("0:07").first.wait_for(timeout=30_000)  # the player shows the sample's length
        consent = page.get_by_role("checkbox", name="The person in this recording agreed")
        assert not consent.is_checked()
        page.get_by_role("button", name="Create short").click()
        fix = page.locator("#fix")
        fix.wait_for(state="visible", timeout=60_000)
        assert "consent" in page.content().lower()
        assert "tick the consent box" in fix.inner_text()
        page.screenshot(path=str(tmp_path / "fix.png"), full_page=True)
        fix.click()
        page.wait_for_function("!document.querySelector('#fix') || document.querySelector('#fix').offsetParent === null",
                               timeout=15_000)
        assert consent.is_checked()
        browser.close()


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)")
def test_the_edit_tab_changes_words_renders_a_version_and_restores_the_old_one(server, tmp_path):  # noqa: F811
    """On a phone (390×844) and on a laptop (1280×800): open the short just made in the Edit tab, change a scene's
    words, see them in the scene's preview, render a new version, and restore the first one."""
    from playwright.sync_api import sync_playwright

    def status_says(page, text: str) -> None:
        try:
            page.wait_for_function("t => document.querySelector('#edit-status').innerText.includes(t)", arg=text,
                                   timeout=180_000)
        except Exception as exc:
            page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
            said = page.locator("body").inner_text()[:3000]
            raise AssertionError(f"waited for {text!r}; the page says: {said}") from exc

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context()  # one visitor (one cookie) on both screens
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(server)
        phone.get_by_role("textbox", name="…or your own script").fill(
            "Mornings matter. Drink water first. Then walk outside and breathe.")
        phone.get_by_role("button", name="Create short").click()
        phone.wait_for_selector(".short-result video", timeout=180_000)

        newest = 1  # versions are numbered on: a render after a restore is still a new, higher number
        for page, width, words in ((phone, 390, "Mornings matter more than you think. Drink water first."),
                                   (None, 1280, "Evenings matter too. Put the phone away early.")):
            if page is None:
                page = context.new_page()
                page.set_viewport_size({"width": 1280, "height": 800})
                page.goto(server)
            page.get_by_role("tab", name="Edit").click()
            page.wait_for_selector("#edit-scenes img", timeout=60_000)  # the last short made, with its scene frames
            before = page.locator("#edit-status").inner_text()
            version = int(before.split("version ")[1].split()[0])
            old_words = page.locator("#edit-words textarea").input_value()
            page.locator("#edit-words textarea").fill(words)
            page.get_by_role("button", name="Apply to scene").click()
            page.wait_for_selector("#edit-preview img", timeout=60_000)  # the scene's still with its caption
            status_says(page, "saved")
            page.get_by_role("button", name="Render new version").click()
            newest += 1
            status_says(page, f"version {newest} shown")
            assert page.locator("#edit-words textarea").input_value() == words
            assert page.eval_on_selector("#edit-result video", "v => v.src").count("/files/") == 1
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the Edit tab scrolls sideways by {overflow}px at {width}px"
            page.screenshot(path=str(tmp_path / f"edit-{width}.png"), full_page=True)

            page.locator("#edit-versions input").click()
            # the option is pressed where it is: on the longer result page the list can open below the fold,
            # where a pointer click by position is refused (Gradio's list selects on mousedown)
            page.get_by_role("option", name=f"Version {version} ·", exact=False).dispatch_event("mousedown")
            page.get_by_role("button", name="Restore this version").click()
            status_says(page, f"version {version} shown")
            assert page.locator("#edit-words textarea").input_value() == old_words

        # an A/B variant with another hook, from the same tab: a new short, rendered, in an experiment with this one
        page.locator("#edit-ab").get_by_text("A/B test: make a variant").click()
        page.locator("#edit-ab-hook textarea").fill("Stop scrolling: your mornings")
        page.get_by_role("button", name="Make the variant").click()
        page.wait_for_function("() => document.querySelector('#edit-ab-said').innerText.includes('Variant B')",
                               timeout=180_000)
        assert "2 variants (A, B)" in page.locator("#edit-ab-said").inner_text()
        page.get_by_role("button", name="Refresh").first.click()
        page.locator("#edit-pick input").click()
        expect_titles = page.get_by_role("option").all_inner_texts()
        assert len(expect_titles) == 2, expect_titles  # the short and its variant
        browser.close()
