"""One registry per model family; built-in engines register like any other."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.errors import EngineUnavailable

STAGES = ("script", "voice", "stills", "motion", "music", "timing", "scoring", "render")


class Registry:
    def __init__(self, family: str) -> None:
        self.family = family
        self._factories: dict[str, Callable[..., Any]] = {}

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
            self._factories[name] = factory
            return factory

        return deco

    def names(self) -> list[str]:
        return sorted(self._factories)

    def create(self, name: str, **options: Any) -> Any:
        try:
            factory = self._factories[name]
        except KeyError:
            raise EngineUnavailable(
                f"Unknown {self.family} engine {name!r}.",
                f"Choose one of: {', '.join(self.names())}.",
            ) from None
        return factory(**options)


ENGINES: dict[str, Registry] = {stage: Registry(stage) for stage in STAGES}


def load_builtin_engines() -> None:
    """Import the built-in adapters so they register themselves (cheap: heavy imports are lazy)."""
    from models import motion, music, scoring, script, stills, timing, voice  # noqa: F401
