"""The one look of the studio: the Gradio UI's theme, and the same colours and fonts for the sign-in page (which
reads the theme's own CSS variables, so the two cannot drift apart)."""

from __future__ import annotations

import functools

import gradio as gr

# System fonts only: nothing is fetched from a font service, so the page looks the same offline.
FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]


@functools.cache
def studio_theme() -> gr.themes.Base:
    return gr.themes.Base(primary_hue="rose", secondary_hue="slate", neutral_hue="slate", radius_size="md",
                          font=FONTS, font_mono=MONO).set(
        body_background_fill_dark="#0f1115", block_background_fill_dark="#1a1d24",
        button_primary_background_fill="*primary_500", button_primary_background_fill_hover="*primary_600",
        button_primary_text_color="white", button_primary_background_fill_dark="*primary_500",
        button_primary_background_fill_hover_dark="*primary_600")


def theme_css() -> str:
    """The theme's CSS variables (light under :root, dark under .dark), for pages Gradio does not draw."""
    return studio_theme()._get_theme_css()
