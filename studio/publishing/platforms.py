"""One registry of the platforms a short can be posted to. Each platform module (``studio/publishing/<name>.py``)
has a class following :class:`Platform`: how to connect an account (its OAuth 2 endpoints and scopes), who the
connected account is, what the connection screen must tell the creator, and its publisher."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

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
    # how the token endpoint wants the client named: client_secret_basic (an Authorization header, Google),
    # client_secret_post (form fields, Meta) or client_key_post (form fields named client_key/client_secret, TikTok)
    token_auth: str = "client_secret_basic"
    client_id_name: str = "client_id"  # the authorize address's name for it (TikTok: client_key)
    scope_separator: str = " "  # Meta and TikTok join scopes with commas
    # refresh once the token is this old, besides before it expires (Instagram: a long-lived token can be refreshed
    # once it is a day old, and each refresh gives it 60 days more)
    refresh_after: timedelta | None = None
    # what the revoke endpoint is sent: the refresh token (RFC 7009 ends the whole grant with it) or, where the
    # platform's revoke takes only that, a live access token (TikTok)
    revoke_with: str = "refresh_token"


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    info: dict = field(default_factory=dict)  # a link to the account, its project, ...
    # this account's own token set, where it is not the login's (a Facebook Page's token): sealed like any token
    token: dict | None = field(default=None, repr=False)


class Platform(Protocol):
    name: str  # "youtube"
    label: str  # "YouTube"
    settings_names: tuple[str, ...]  # what an operator sets to switch it on (named when it is not configured)
    notes: tuple[str, ...]  # what the connection screen says before the creator connects (limits, locks, quotas)
    # a post is handed to the publisher this long before its time (YouTube and Facebook hold an upload until its
    # time; Instagram prepares its container a few minutes ahead); zero: at its time
    upload_ahead: timedelta
    # the post form asks the platform for the account's posting options before scheduling (TikTok's creator_info)
    live_options: bool

    def oauth(self) -> OAuthSpec | None:
        """The OAuth client, or None when its settings are missing ("not configured")."""

    def accounts(self, token: dict) -> list[Account]:
        """Who the token belongs to (called once, right after connecting): one account, or several (each Facebook
        Page the person manages, each with its own token)."""

    def long_lived(self, token: dict) -> dict:
        """The token set to keep, from the one the code was exchanged for (Meta: a 60-day token for the 1-hour
        one). Raises base.Transient / base.AuthRevoked."""

    def refresh(self, spec: OAuthSpec, token: dict) -> dict | None:
        """A new token set where the platform refreshes its own way (Instagram), else None: the standard
        ``refresh_token`` grant. Raises base.Transient (try again later) / base.AuthRevoked (reconnect)."""

    def posting_info(self, access_token: str) -> dict:
        """What the post form must offer for this account, asked live (TikTok's creator_info): {} where nothing is.
        Raises base.Transient / base.AuthRevoked."""

    def check_options(self, options: dict, info: dict) -> dict:
        """The post's platform options, checked (against ``info`` from posting_info when given), with defaults;
        raises models.errors.InvalidRequest naming the option."""

    def publisher(self) -> Publisher: ...


class PlatformBase:
    """Defaults for a platform module: one account per login, the token as exchanged, the standard refresh, no
    live options, no options beyond the shared ones."""

    upload_ahead = timedelta(0)
    live_options = False

    def __init__(self, settings: PublishSettings) -> None:
        self.settings = settings

    def account(self, access_token: str) -> Account:
        raise NotImplementedError

    def accounts(self, token: dict) -> list[Account]:
        return [self.account(token["access_token"])]

    def long_lived(self, token: dict) -> dict:
        return token

    def refresh(self, spec: OAuthSpec, token: dict) -> dict | None:
        return None

    def posting_info(self, access_token: str) -> dict:
        return {}

    def check_options(self, options: dict, info: dict) -> dict:
        return no_options(options)


def no_options(options: dict, allowed: tuple[str, ...] = ()) -> dict:
    """Refuse options a platform does not take (``synthetic_media`` is every platform's: kept as sent)."""
    unknown = set(options) - {"synthetic_media", *allowed}
    if unknown:
        raise InvalidRequest(f"Unknown option {sorted(unknown)[0]!r} for this platform.",
                             f"Send only: {', '.join(('synthetic_media', *allowed))}.")
    return {"synthetic_media": bool(options.get("synthetic_media", True))}


def flag(options: dict, name: str, default: bool = False) -> bool:
    value: Any = options.get(name, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"Option {name!r} must be true or false.", f"Send {name}: true or false.")
    return value


# name → "module:Class"; each is imported only when used
BUILT_IN = {"youtube": "studio.publishing.youtube:YouTube", "instagram": "studio.publishing.instagram:Instagram",
            "facebook": "studio.publishing.facebook:Facebook", "tiktok": "studio.publishing.tiktok:TikTok"}


def platform(name: str, settings: PublishSettings) -> Platform:
    if name not in BUILT_IN:
        raise InvalidRequest(f"Unknown platform {name!r}.", f"Choose one of: {', '.join(BUILT_IN)}.")
    module, cls = BUILT_IN[name].split(":")
    return getattr(importlib.import_module(module), cls)(settings)


def all_platforms(settings: PublishSettings) -> dict[str, Platform]:
    return {name: platform(name, settings) for name in BUILT_IN}
