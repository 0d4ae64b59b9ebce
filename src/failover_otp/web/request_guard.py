"""The request boundary, as ASGI middleware: oversized bodies and bad text never reach a route.

- A body over ``FOTP_MAX_REQUEST_BYTES`` is refused with **413** ``payload_too_large``: at once
  when ``Content-Length`` says so (nothing is read), else as soon as the chunks that have
  arrived pass the limit (a chunked upload is never read whole).
- A NUL character or an unpaired surrogate anywhere in the path, the query, a header or the
  body (JSON or form) is refused with **422** ``validation_failed`` (``web/bad_text.py``).

Both answers come before any route runs, so a refused request is counted, charged and stored
nowhere. Everything else passes through unchanged: the body, at most the limit, is handed on
as it arrived.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from failover_otp.web import bad_text
from failover_otp.web.bad_text import BadText
from failover_otp.web.responses import FastJSONResponse, error_body


class BodyTooLarge(Exception):
    pass


class RequestGuard:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        found = (
            bad_text.in_path(scope["path"])
            or bad_text.in_query(scope["query_string"])
            or bad_text.in_headers(headers)
        )
        if found is not None:
            await _refuse_text(found, scope, receive, send)
            return
        declared = _header(headers, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            return
        try:
            chunks, ended = await self._read_body(receive)
        except BodyTooLarge:
            await self._too_large(scope, receive, send)
            return
        body = b"".join(chunks)
        content_type = (_header(headers, b"content-type") or "").strip()
        found = bad_text.in_body(content_type, body)
        if found is not None:
            await _refuse_text(found, scope, receive, send)
            return
        await self.app(scope, _replay(body, ended, receive), send)

    async def _read_body(self, receive: Receive) -> tuple[list[bytes], Message | None]:
        """The body's chunks, counted as they arrive; and the message that ended the stream
        early (a disconnect), if one did."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return chunks, message
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks, None

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_body_bytes
        response = FastJSONResponse(
            error_body(
                "payload_too_large",
                f"the request body is larger than {limit} bytes (FOTP_MAX_REQUEST_BYTES)",
                [{"limit": limit}],
            ),
            status_code=413,
            # The rest of the body is never read: the connection cannot carry another request.
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _replay(body: bytes, ended: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body read so far, then the real stream's end."""
    delivered = False

    async def replayed() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            if ended is not None:
                return ended
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse_text(found: BadText, scope: Scope, receive: Receive, send: Send) -> None:
    detail = {"loc": list(found.loc), "msg": found.description, "type": found.kind}
    response = FastJSONResponse(
        error_body("validation_failed", found.message, [detail]), status_code=422
    )
    await response(scope, receive, send)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None
