"""One registry of the platforms a short can be posted to. Each platform module (``studio/publishing/<name>.py``)
has a class following :class:`Platform`: how to connect an account (its OAuth 2 endpoints and scopes), who the
connected account is, what the connection screen must tell the creator, and its publisher."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol

from models.errors import InvalidRequest
from studio.publishing.base import Publisher
from studio.settings import PublishSettings


@dataclass(frozen=True)
class OAuthSpec:
    authorize_url: str
    token_url: str
    revoke_url: str | None
    scopes: tuple[str, ...]
    pkce: bool  # only where the platform documents it
    client_id: str
    client_secret: str = field(repr=False)
    authorize_params: dict = field(default_factory=dict)  # e.g. Google's access_type=offline, prompt=consent


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    info: dict = field(default_factory=dict)  # a link to the account, its project, ...


class Platform(Protocol):
    name: str  # "youtube"
    label: str  # "YouTube"
    settings_names: tuple[str, ...]  # what an operator sets to switch it on (named when it is not configured)
    notes: tuple[str, ...]  # what the connection screen says before the creator connects (limits, locks, quotas)

    def oauth(self) -> OAuthSpec | None:
        """The OAuth client, or None when its settings are missing ("not configured")."""

    def account(self, access_token: str) -> Account:
        """Who the token belongs to (called once, right after connecting)."""

    def publisher(self) -> Publisher: ...


# name → "module:Class"; each is imported only when used
BUILT_IN = {"youtube": "studio.publishing.youtube:YouTube"}


def platform(name: str, settings: PublishSettings) -> Platform:
    if name not in BUILT_IN:
        raise InvalidRequest(f"Unknown platform {name!r}.", f"Choose one of: {', '.join(BUILT_IN)}.")
    module, cls = BUILT_IN[name].split(":")
    return getattr(importlib.import_module(module), cls)(settings)


def all_platforms(settings: PublishSettings) -> dict[str, Platform]:
    return {name: platform(name, settings) for name in BUILT_IN}
