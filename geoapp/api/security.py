"""The HTTP edge: trusted Host names, the Origin check on cookie-authenticated writes, and security headers.

One plain ASGI middleware (``HttpEdge``, installed by ``install_http_edge``) rather than ``@app.middleware("http")``,
which wraps every response body in an extra task and stream (13–37 % of the layers API's throughput, see ReadGuard
in geoapp/auth/guards.py). Per request it parses the Host header, and for a write the Cookie, Origin and Referer
headers, then adds a few precomputed header lines to the answer.

- **Trusted hosts** (``trusted_hosts``): a request whose Host is not listed gets 400, so ``request.base_url``, which
  every link geoapp builds comes from, only ever carries a trusted name (no forged links), and a page of another
  site that rebinds its DNS name to this server (DNS rebinding) cannot read it.
- **Cross-site writes**: a POST/PUT/PATCH/DELETE that carries the login cookie and no bearer token must come from a
  page of this server's own origin (or of ``allowed_origins``): its ``Origin`` (lacking that, ``Referer``) is
  compared by scheme, host and port, else 403. SameSite does not stop a page on another *port* of the same host:
  that is the same site. A bearer token cannot be sent by another page without the script knowing it, so bearer
  writes are not checked. ``POST /auth/login`` carries no cookie, but a foreign Origin on it is refused as well
  (login CSRF: a foreign page logging the browser into the attacker's account); a login without Origin or Referer
  (a script) is allowed. CORS preflights (OPTIONS) are not writes and pass.
- **Headers** on every answer: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy``, ``X-Frame-Options: DENY``
  and a Content-Security-Policy: for HTML the page's own (scripts, styles, workers and data from this origin only,
  images also from the enabled online basemaps' tile hosts), for anything else only ``frame-ancestors 'none'``.
  FastAPI's /docs and /redoc load Swagger UI / ReDoc from a CDN with a small inline script: they get a policy that
  allows that CDN and exactly their inline scripts (by SHA-256), nothing else (offline they simply do not load).
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from functools import cache
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoapp.api.errors import error_response
from geoapp.auth.guards import COOKIE
from geoapp.errors import Forbidden, GeoappError
from geoapp.settings import Settings
from geoapp.webmap.basemaps import enabled_basemaps

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATH = "/auth/login"
DEFAULT_PORTS = {"http": 80, "https": 443}
WILDCARD_BINDS = {"0.0.0.0", "::", ""}

COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
]
OTHER_CSP = "frame-ancestors 'none'"
DOCS_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)

Origin = tuple[str, str, int]  # scheme, host (lower case), port


def split_host(value: str) -> tuple[str, int | None] | None:
    """'Example.org:8000' → ('example.org', 8000); '[::1]' → ('::1', None); None when malformed."""
    value = value.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        host, rest = (value[1:end], value[end + 1:]) if end > 0 else ("", "")
        port = rest[1:] if rest.startswith(":") else ("" if not rest else "x")
    else:
        host, _, port = value.partition(":")
    if not host or (port and not port.isdigit()) or any(c in host for c in "/@ \\?#"):
        return None
    return host, int(port) if port else None


def trusted_host_names(settings: Settings) -> list[str]:
    """The setting's list, or the names this server is reached by on its own: the loopback names and ``host``
    (listening on every interface, also this machine's own names; any further name must be listed)."""
    given = [h.strip().lower().strip("[]") for h in settings.trusted_hosts.split(",") if h.strip()]
    if given:
        return given
    return list(_default_host_names(settings.host.strip().lower().strip("[]")))


@cache
def _default_host_names(host: str) -> tuple[str, ...]:
    """The loopback names and ``host``; listening on every interface, this machine's own names (looked up once:
    getfqdn asks DNS, and links are built on every items request)."""
    if host in WILDCARD_BINDS:
        return ("127.0.0.1", "localhost", "::1", *sorted({socket.gethostname().lower(), socket.getfqdn().lower()}))
    return ("127.0.0.1", "localhost", "::1", host)


def host_trusted(host: str, patterns: list[str]) -> bool:
    return any(host == p or p == "*" or (p.startswith("*.") and host.endswith(p[1:])) for p in patterns)


def _origin_of(url: str) -> Origin | None:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def allowed_origins(settings: Settings) -> frozenset[Origin]:
    return frozenset(o for o in (_origin_of(v) for v in settings.allowed_origins.split(",") if v.strip()) if o)


def _tile_origins(settings: Settings) -> list[str]:
    """scheme://host of every tile URL of the enabled online basemaps ({s} expanded over its subdomains)."""
    try:
        basemaps = enabled_basemaps(settings)
    except GeoappError:
        return []  # the web map shows the warning and offers no online basemap
    origins: list[str] = []
    for basemap in basemaps:
        for template in filter(None, (basemap.get("url"), basemap.get("labels"))):
            for sub in (str(basemap.get("subdomains") or "") or [""]) if "{s}" in template else [""]:
                parts = urlsplit(template.replace("{s}", sub))
                origin = f"{parts.scheme}://{parts.netloc}"
                if parts.scheme in DEFAULT_PORTS and origin not in origins:
                    origins.append(origin)
    return origins


def page_csp(settings: Settings) -> str:
    """The web map's policy: nothing inline (no inline script, no style attributes), data from this origin only."""
    images = " ".join(["'self'", "data:", "blob:", *_tile_origins(settings)])
    return ("default-src 'self'; script-src 'self'; style-src 'self'; worker-src 'self'; connect-src 'self'; "
            f"img-src {images}; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
            "frame-ancestors 'none'")


def docs_csp(body: bytes) -> str:
    """The API docs' policy: the CDN FastAPI loads Swagger UI / ReDoc from, and exactly the page's inline scripts."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(body))
    return (f"default-src 'self'; script-src 'self' {DOCS_CDN} {hashes}; style-src 'self' {DOCS_CDN} "
            "https://fonts.googleapis.com 'unsafe-inline'; font-src 'self' https://fonts.gstatic.com; "
            "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; worker-src 'self' blob:; "
            "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


class HttpEdge:
    """Plain ASGI middleware: refuse untrusted Host names (400) and cross-site cookie writes (403); add the
    security headers to every answer, its own refusals included."""

    def __init__(self, app: ASGIApp, settings: Settings, docs_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.hosts = trusted_host_names(settings)
        self.origins = allowed_origins(settings)
        self.page_csp = page_csp(settings).encode()
        self.docs_paths = frozenset(p for p in docs_paths if p)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._docs_sender(send) if scope.get("path") in self.docs_paths else self._sender(send)
        headers = _headers(scope)
        refusal = self._host_refusal(headers) or self._cross_site_refusal(scope, headers)
        if refusal is not None:
            await error_response(Request(scope), refusal)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _host_refusal(self, headers: dict[bytes, bytes]) -> GeoappError | None:
        given = headers.get(b"host", b"").decode("latin-1")
        parsed = split_host(given)
        if parsed is not None and host_trusted(parsed[0], self.hosts):
            return None
        shown = given[:100]
        return GeoappError(zh=f"主机名“{shown}”不在本服务器的受信任主机名中（GEOAPP_TRUSTED_HOSTS）",
                           en=f"the host name {shown!r} is not one of this server's trusted hosts "
                              "(GEOAPP_TRUSTED_HOSTS)", parameter="Host", status=400)

    def _cross_site_refusal(self, scope: Scope, headers: dict[bytes, bytes]) -> GeoappError | None:
        if scope["method"] not in UNSAFE_METHODS:
            return None
        is_login = scope.get("path") == LOGIN_PATH
        if not is_login and not _cookie_authenticated(headers):
            return None
        source = headers.get(b"origin") or headers.get(b"referer")
        if source is None and is_login:
            return None  # a script logging in; a browser always sends Origin with a POST
        origin = _origin_of(source.decode("latin-1")) if source else None
        if origin is not None and (origin == _own_origin(scope, headers) or origin in self.origins):
            return None
        return Forbidden(zh="拒绝来自其他网站的写入请求：请在本系统的页面上操作，脚本请使用 API 令牌"
                            "（Authorization: Bearer）",
                         en="a write from another site's page is refused: use this server's own page, or an API "
                            "token (Authorization: Bearer) from a script", parameter="Origin")

    def _sender(self, send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._secured(list(message.get("headers", [])), self.page_csp)
            await send(message)

        return send_with_headers

    def _docs_sender(self, send: Send) -> Send:
        """Hold the (small) docs page until its body is complete, to list its inline scripts' hashes."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_docs(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            start["headers"] = self._secured(list(start.get("headers", [])), docs_csp(body).encode())
            await send(start)
            await send({"type": "http.response.body", "body": body})

        return send_docs

    @staticmethod
    def _secured(headers: list[tuple[bytes, bytes]], html_csp: bytes) -> list[tuple[bytes, bytes]]:
        names = {k.lower() for k, _ in headers}
        added = [h for h in COMMON_HEADERS if h[0] not in names]
        if b"content-security-policy" not in names:
            content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
            html = content_type.lower().startswith(b"text/html")
            added.append((b"content-security-policy", html_csp if html else OTHER_CSP.encode()))
        return headers + added


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request headers this middleware reads (the first of each)."""
    wanted = (b"host", b"cookie", b"authorization", b"origin", b"referer")
    out: dict[bytes, bytes] = {}
    for key, value in scope.get("headers", []):
        if key in wanted and key not in out:
            out[key] = value
    return out


def _cookie_authenticated(headers: dict[bytes, bytes]) -> bool:
    """The login cookie is what would authorise this request: present, and no bearer token beside it."""
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return False
    cookies = headers.get(b"cookie", b"").decode("latin-1")
    return any(name.strip() == COOKIE and value.strip() for name, _, value in
               (part.partition("=") for part in cookies.split(";")))


def _own_origin(scope: Scope, headers: dict[bytes, bytes]) -> Origin | None:
    """This request's own origin: its scheme (as the server saw it) and its Host, which is trusted by now."""
    parsed = split_host(headers.get(b"host", b"").decode("latin-1"))
    scheme = scope.get("scheme", "http")
    if parsed is None or scheme not in DEFAULT_PORTS:
        return None
    host, port = parsed
    return scheme, host, port or DEFAULT_PORTS[scheme]


def install_http_edge(app: FastAPI) -> None:
    """Install HttpEdge inside the request id (so its refusals carry one) and outside every other layer."""
    app.add_middleware(HttpEdge, settings=app.state.settings, docs_paths=(app.docs_url, app.redoc_url))
