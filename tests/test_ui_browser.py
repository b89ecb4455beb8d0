"""The Create tab in a real browser on a phone-sized screen (Debian's Chromium driven by Playwright)."""

import os
import shutil

import pytest

from tests.test_ui import server  # noqa: F401  (the same real app.py process)

CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="Debian's chromium is not installed (scripts/setup.sh --dev installs it)")
def test_create_tab_fits_a_phone_and_makes_a_short(server, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
        page.goto(server)
        page.get_by_role("textbox", name="Topic", exact=True).fill("3 tips for better sleep")
        button = page.get_by_role("button", name="Create short")
        button.wait_for(state="visible", timeout=15_000)  # a loaded machine may draw the page late
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
        button.click()
        page.wait_for_selector(".short-result video", timeout=120_000)
        page.wait_for_function("document.querySelector('.short-result video').readyState >= 1", timeout=30_000)
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        src = page.eval_on_selector(".short-result video", "v => v.currentSrc || v.src")
        assert "/files/" in src  # a signed link, playable: its length is known
        assert page.eval_on_selector(".short-result video", "v => v.duration") > 4
        width = page.eval_on_selector(".short-result video", "v => v.getBoundingClientRect().width")
        assert width >= 300, f"the preview is only {width}px wide on a 390px phone"
        assert page.get_by_text("espeak-ng").first.is_visible()
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
        page.locator("input[type=file][accept*=audio]").set_input_files(str(sample))
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
