"""Running the server: uvicorn with deadlines on every connection, and forwarded headers trusted only from the
proxies named in the settings. Both ``studio serve`` and ``python app.py`` start here.

uvicorn (0.54) has no header or body read timeout: ``timeout_keep_alive`` starts only after a response, so a client
that sends its headers or its body a byte at a time holds a connection (and a file descriptor) for ever.
``deadline_protocol`` adds what is missing to uvicorn's h11 protocol:
- the request line and headers must arrive within ``header_timeout`` seconds of the connection opening (or of the
  previous response on a kept-alive connection);
- while a body is being received, the connection is closed if no byte arrives for ``body_idle_timeout`` seconds, or
  if, after ``body_grace`` seconds, the body has averaged less than ``body_min_rate`` bytes a second.
Time the application spends not reading (flow control paused) never counts against the client.
"""

from __future__ import annotations

import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from studio.settings import ServerSettings

log = logging.getLogger("studio.serving")
_TICK = 0.5


class _DeadlineH11(H11Protocol):
    header_timeout = 10.0
    body_idle_timeout = 20.0
    body_grace = 10.0
    body_min_rate = 1024.0

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        now = self.loop.time()
        self._waiting_since, self._last_data = now, now
        self._body_since, self._body_bytes = None, 0
        self._tick = self.loop.call_later(_TICK, self._check)

    def data_received(self, data: bytes) -> None:
        now = self.loop.time()
        self._last_data = now
        if self._body_since is not None:
            self._body_bytes += len(data)
        super().data_received(data)
        if self.conn.their_state is h11.SEND_BODY and self._body_since is None:
            self._body_since, self._body_bytes = now, 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._waiting_since, self._body_since = self.loop.time(), None

    def connection_lost(self, exc) -> None:
        self._tick.cancel()
        super().connection_lost(exc)

    def _check(self) -> None:
        if self.transport.is_closing():
            return
        now, state = self.loop.time(), self.conn.their_state
        if state is h11.IDLE and now - self._waiting_since > self.header_timeout:
            return self._cut("the request headers did not arrive in time")
        if state is h11.SEND_BODY and self._body_since is not None:
            if self.flow.read_paused:  # the application is not reading: the client is not to blame
                self._last_data = now
            elif now - self._last_data > self.body_idle_timeout:
                return self._cut("the request body stalled")
            elif now - self._body_since > self.body_grace and \
                    self._body_bytes / (now - self._body_since) < self.body_min_rate:
                return self._cut("the request body arrived too slowly")
        if state in (h11.IDLE, h11.SEND_BODY, h11.DONE):
            self._tick = self.loop.call_later(_TICK, self._check)

    def _cut(self, why: str) -> None:
        log.info("closing a connection from %s: %s", self.client, why)
        self.transport.close()


def deadline_protocol(server: ServerSettings) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the deadlines of ``server``."""
    return type("DeadlineH11Protocol", (_DeadlineH11,), {
        "header_timeout": float(server.header_timeout_s), "body_idle_timeout": float(server.body_idle_timeout_s),
        "body_grace": float(server.body_grace_s), "body_min_rate": float(server.body_min_rate)})


SHUTDOWN_GRACE_S = 5


def serve(app, server: ServerSettings, host: str, port: int) -> None:
    import uvicorn

    from studio.web import redact_access_log

    redact_access_log()
    proxies = server.trusted_proxies
    # open streams are cut after SHUTDOWN_GRACE_S on SIGTERM: the UI's session heartbeat (kept open by a browser or
    # a gradio_client while the Edit tab's state lives) is closed by Gradio only in an app Gradio launched itself
    uvicorn.run(app, host=host, port=port, log_level="info", http=deadline_protocol(server),
                proxy_headers=bool(proxies), forwarded_allow_ips=list(proxies) or None,
                timeout_graceful_shutdown=SHUTDOWN_GRACE_S)


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is refused with 413, whether its length is declared or
    it arrives chunked, before the application has held more than ``limit`` bytes of it. Routes in ``exempt``
    stream their bodies and enforce limits of their own (the uploads)."""

    def __init__(self, app, *, limit: int, exempt: tuple[str, ...] = ()) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            return await self.app(scope, receive, send)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(scope, receive, send)
        state = {"received": 0, "over": False, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.limit:
                    state["over"] = True
                    return {"type": "http.disconnect"}  # the application stops reading; we answer for it
            return message

        async def guarded_send(message):
            if state["over"] and not state["started"]:
                return
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise
        if state["over"] and not state["started"]:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope, receive, send) -> None:
        from starlette.responses import JSONResponse

        body = {"error": {"code": "body_too_large",
                          "message": f"The request body is larger than {self.limit // 1024} KB."}}
        await JSONResponse(body, status_code=413, headers={"Connection": "close"})(scope, receive, send)
