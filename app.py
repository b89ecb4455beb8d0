"""Composition root for `python app.py` and the Hugging Face Space: settings → studio → UI → launch.

The Space is the anonymous demo (STUDIO_AUTH=none): no accounts, a daily quota per visitor address
(STUDIO_DEMO_DAILY_SHORTS). `studio serve` is the hosted studio with accounts and the REST API.
"""

import os

from studio.core import Studio
from studio.hosted import Hosted
from studio.settings import ServerSettings, Settings
from studio.ui import build_app
from studio.web import AccountHooks


def main() -> None:
    settings = Settings.from_env()
    settings.server = ServerSettings.from_env(auth_mode=os.environ.get("STUDIO_AUTH", "none"))
    studio = Studio(settings)
    demo = build_app(studio, AccountHooks(Hosted(settings, studio=studio)))
    demo.queue(default_concurrency_limit=1).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", "7860"))),
        allowed_paths=[str(settings.outputs_dir)],
    )


if __name__ == "__main__":
    main()
