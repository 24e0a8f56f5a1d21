"""The largest request body the API reads: refused with 413 before it is parsed, whether or not it says its size."""

from __future__ import annotations

import json

from rag.server.errors import error_body, too_large


class BodyLimit:
    """ASGI middleware: bodies of requests under `prefix` may hold at most `limit` bytes.

    A Content-Length over the limit is answered at once; a body sent in chunks is counted as it arrives and
    stops the request when it passes the limit. Other paths (the chat page's uploads) are left alone.
    """

    def __init__(self, app, limit: int, prefix: str = "/v1/"):
        self.app, self.limit, self.prefix = app, limit, prefix

    def _message(self) -> str:
        return (f"The request body is larger than this server's limit of {self.limit // 1024} KB "
                "(setting serve_max_body_kb).")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise too_large(self._message())  # an HTTPException: FastAPI answers it with 413
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send) -> None:
        body = json.dumps(error_body(self._message(), "invalid_request_error", "request_too_large")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
