"""Composition root for `python app.py` and the Hugging Face Space: settings → hosted studio → UI → serve.

The Space is the anonymous demo (STUDIO_AUTH=none): no accounts, a daily quota per visitor address
(STUDIO_DEMO_DAILY_SHORTS). It is the same server as `studio serve` — the same upload rules, job runner and
storage — with accounts switched off.
"""

import os

from studio.settings import ServerSettings, Settings


def main() -> None:
    import uvicorn

    from studio.web import create_server, redact_access_log

    settings = Settings.from_env()
    settings.server = ServerSettings.from_env(auth_mode=os.environ.get("STUDIO_AUTH", "none"))
    server = create_server(settings)
    redact_access_log()
    uvicorn.run(server, host=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                port=int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", "7860"))),
                log_level="info", proxy_headers=True)


if __name__ == "__main__":
    main()
