"""Composition root for `python app.py` and the Hugging Face Space: settings → hosted studio → UI → serve.

The Space is the anonymous demo (STUDIO_AUTH=none): no accounts, a daily quota per visitor address
(STUDIO_DEMO_DAILY_SHORTS). It is the same server as `studio serve` — the same upload rules, job runner and
storage — with accounts switched off.
"""

import os
from dataclasses import replace

from studio.settings import ServerSettings, Settings


def main() -> None:
    from studio.serving import serve
    from studio.web import create_server

    settings = Settings.from_env()
    server = ServerSettings.from_env(auth_mode=os.environ.get("STUDIO_AUTH", "none"))
    if os.environ.get("SPACE_ID"):
        # On a Space every request arrives through Hugging Face's proxy (its address is not fixed) and the page is
        # shown in a frame on huggingface.co: believe its forwarded client address, allow that frame.
        server = replace(server, trusted_proxies=server.trusted_proxies or ("*",),
                         frame_ancestors=os.environ.get("STUDIO_FRAME_ANCESTORS",
                                                        "'self' https://huggingface.co https://*.hf.space"))
    settings.server = server
    serve(create_server(settings), server, os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
          int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", "7860"))))


if __name__ == "__main__":
    main()
