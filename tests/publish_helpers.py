"""Shared by the publishing tests: a connected account without the OAuth dance (test_connections.py covers that),
stored exactly as a connect stores it: its token set sealed with the studio's token key."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def connect_account(hosted, owner: str, *, platform: str = "youtube", account_id: str = "UCfakechannel",
                    access_token: str = "test-token", refresh_token: str = "test-refresh",
                    expires_in: int = 3600, name: str = "Fake channel") -> str:
    from studio.tables import Connection

    expires = int(time.time()) + expires_in
    with hosted.db.session() as s:
        row = Connection(owner_id=owner, platform=platform, account_id=account_id, name=name,
                         scopes=["https://www.googleapis.com/auth/youtube.upload"],
                         token=hosted.token_box.seal({"access_token": access_token, "token_type": "Bearer",
                                                      "refresh_token": refresh_token, "expires_at": expires,
                                                      "issued_at": int(time.time())}),
                         expires_at=datetime.fromtimestamp(expires, UTC),
                         info={"link": f"https://www.youtube.com/channel/{account_id}"})
        s.add(row)
        s.flush()
        return row.id
