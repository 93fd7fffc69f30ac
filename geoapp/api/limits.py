"""A cap on every request body, enforced before the body is stored anywhere (item 6 of the hardening issue).

Without it an 80 MB upload was spooled to disk by the multipart parser and then answered 500, and a JSON body of
any size was read into memory. ``BodyLimit`` is a plain ASGI middleware (no ``BaseHTTPMiddleware``: it must see the
raw ``receive`` stream):

* a ``Content-Length`` over the cap is answered 413 at once, without reading a byte of the body;
* a body without one (chunked) is counted as it streams in; the moment it passes the cap the client gets the 413
  and the application sees the client disconnect, so whatever it had buffered is dropped and its own answer to
  the broken body is discarded.

The cap is ``settings.max_upload_mb`` for the multipart upload ``POST /imports`` and ``settings.max_json_kb`` for
every other request. The 413 is the one error body, built by :func:`geoapp.api.errors.error_response`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoapp.api.errors import error_response
from geoapp.errors import TooLarge
from geoapp.settings import Settings

UPLOAD_PATHS = frozenset({"/imports"})
# Multipart framing around the file (boundaries, part headers, the small form fields) on top of the file itself.
MULTIPART_OVERHEAD = 64 * 1024


def body_cap(settings: Settings, path: str) -> tuple[int, str]:
    """(the most bytes a request to ``path`` may send, the setting that says so)."""
    if path in UPLOAD_PATHS:
        return settings.max_upload_mb * 1024 * 1024 + MULTIPART_OVERHEAD, "max_upload_mb"
    return settings.max_json_kb * 1024, "max_json_kb"


def too_large(settings: Settings, setting: str) -> TooLarge:
    if setting == "max_upload_mb":
        limit = f"{settings.max_upload_mb} MiB"
        return TooLarge(zh=f"上传的文件过大（上限 {limit}，设置项 GEOAPP_MAX_UPLOAD_MB）；"
                           "请拆分文件或由管理员用命令行导入",
                        en=f"the upload is too large (limit {limit}, setting GEOAPP_MAX_UPLOAD_MB); split the file "
                           "or have an administrator import it with the command line", parameter="file",
                        limit_bytes=settings.max_upload_mb * 1024 * 1024, setting="max_upload_mb")
    limit = f"{settings.max_json_kb} KiB"
    return TooLarge(zh=f"请求体过大（上限 {limit}，设置项 GEOAPP_MAX_JSON_KB）",
                    en=f"the request body is too large (limit {limit}, setting GEOAPP_MAX_JSON_KB)",
                    parameter="body", limit_bytes=settings.max_json_kb * 1024, setting="max_json_kb")


def _declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, None when absent; a malformed one counts as too large (-1 → refused)."""
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            raw = value[:20]
            return int(raw) if raw.isdigit() else -1
    return None


class BodyLimit:
    """Answer 413 (the one error body) to a request whose body is over its cap, before the body is stored."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        cap, setting = body_cap(settings, scope.get("path", ""))
        declared = _declared_length(scope)
        if declared is not None and (declared < 0 or declared > cap):
            await self._refuse(scope, send, settings, setting)
            return

        received = 0
        refused = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    refused = True
                    if not started:
                        await self._refuse(scope, send, settings, setting)
                    return {"type": "http.disconnect"}  # the application drops what it buffered
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out already; the application's answer to the cut-off body is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            # The application failed on the body we cut off (ClientDisconnect and the like): already answered.

    @staticmethod
    async def _refuse(scope: Scope, send: Send, settings: Settings, setting: str) -> None:
        response = error_response(Request(scope), too_large(settings, setting))
        response.headers["Connection"] = "close"  # the unread rest of the body makes the connection unusable
        await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
