"""Composition root for `python app.py` and the Hugging Face Space: settings → studio → UI → launch."""

import os

from studio.core import Studio
from studio.settings import Settings
from studio.ui import build_app


def main() -> None:
    settings = Settings.from_env()
    studio = Studio(settings)
    demo = build_app(studio)
    demo.queue(default_concurrency_limit=1).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("PORT", os.environ.get("GRADIO_SERVER_PORT", "7860"))),
        allowed_paths=[str(settings.outputs_dir)],
    )


if __name__ == "__main__":
    main()
