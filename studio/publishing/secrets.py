"""Platform tokens at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under the
studio's token key. The key is ``STUDIO_TOKEN_KEY`` (several, comma-separated, newest first, to rotate keys), else a
key generated once into ``STUDIO_HOME/token.key`` (mode 0600). A token is never logged or returned by any route."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from models.errors import StudioError


class TokenKeyWrong(StudioError):
    """Stored tokens cannot be read with the configured key (it changed without keeping the old one)."""

    code = "token_key_wrong"


class TokenBox:
    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    @classmethod
    def for_settings(cls, configured: str | None, home: Path) -> TokenBox:
        if configured:
            return cls([k.strip() for k in configured.split(",") if k.strip()])
        path = home / "token.key"
        if not path.exists():
            home.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                pass
            else:
                with os.fdopen(fd, "w") as fh:
                    fh.write(Fernet.generate_key().decode())
        return cls([path.read_text().strip()])

    def seal(self, value: dict | str) -> str:
        raw = value if isinstance(value, str) else json.dumps(value)
        return self._fernet.encrypt(raw.encode()).decode()

    def open_text(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise TokenKeyWrong("A stored platform token cannot be decrypted with this studio's token key.",
                                "Set STUDIO_TOKEN_KEY to the key the tokens were saved with (list the old key after the "
                                "new one to rotate), or reconnect the account.") from None

    def open(self, sealed: str) -> dict:
        return json.loads(self.open_text(sealed)) if sealed else {}
