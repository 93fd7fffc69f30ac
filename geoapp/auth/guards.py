"""FastAPI guards: who is asking (bearer token or the login cookie), and whether they may read, write or administer.

Writing always needs an editor or admin token. Reading is open unless ``read_requires_login`` is set, in which
case ``install_read_guard`` makes every route but the login, the health check and the page shell ask for a login
(intranets differ), so routers of other capabilities need no change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from geoapp.api.errors import error_response
from geoapp.auth.accounts import Account, account_for_token
from geoapp.errors import Forbidden, GeoappError, Unauthorized

COOKIE = "geoapp_token"
READ_NEEDS_LOGIN = ("查看需要登录", "reading needs a login here")
OPEN_PATHS = ("/health", "/auth/", "/static/", "/docs", "/redoc", "/openapi.json", "/favicon.ico")


def problem(status: int, zh: str, en: str, **extra) -> GeoappError:
    """A refusal of the guards (401 asks for a bearer token), answered by the one error path."""
    return (Unauthorized if status == 401 else Forbidden)(zh=zh, en=en, status=status, **extra)


def token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def _lookup(engine: Engine, token: str) -> Account | None:
    with engine.connect() as conn:
        return account_for_token(conn, token)


def current_account(request: Request) -> Account | None:
    """The caller's account, None when anonymous; a token that does not work is refused (401), not ignored."""
    token = token_from(request)
    if token is None:
        return None
    account = _lookup(request.app.state.engine, token)
    if account is None:
        raise problem(401, "令牌无效、已过期或账号已停用，请重新登录",
                      "the token is invalid, expired or its account disabled")
    return account


MaybeAccount = Annotated[Account | None, Depends(current_account)]


def require_account(account: MaybeAccount) -> Account:
    if account is None:
        raise problem(401, "请先登录", "log in first (Authorization: Bearer <token>)")
    return account


LoggedIn = Annotated[Account, Depends(require_account)]


def require_writer(account: LoggedIn) -> Account:
    if not account.can_write:
        raise problem(403, "只读账号不能修改数据", "a viewer account cannot change data")
    return account


def require_admin(account: LoggedIn) -> Account:
    if not account.is_admin:
        raise problem(403, "需要管理员权限", "this needs an admin")
    return account


def require_reader(request: Request, account: MaybeAccount) -> Account | None:
    """Open reading, or a login when the setting says so."""
    if account is None and request.app.state.settings.read_requires_login:
        raise problem(401, *READ_NEEDS_LOGIN)
    return account


Writer = Annotated[Account, Depends(require_writer)]
Admin = Annotated[Account, Depends(require_admin)]
Reader = Annotated[Account | None, Depends(require_reader)]


class ReadGuard:
    """Plain ASGI middleware answering 401 to reads outside OPEN_PATHS (and the page) without a login.

    Plain ASGI rather than ``@app.middleware("http")``: the latter wraps every response body in an extra task and
    stream, which cost the layers API 13–37 % of its requests per second even with the guard off.
    """

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/" or any(path.startswith(p) for p in OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        token = token_from(Request(scope))
        account = await run_in_threadpool(_lookup, self.engine, token) if token else None
        if account is None:
            response = error_response(Request(scope), problem(401, *READ_NEEDS_LOGIN))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install_read_guard(app: FastAPI) -> None:
    """Guard reading only when ``read_requires_login`` is set; an open map pays nothing per request."""
    if app.state.settings.read_requires_login:
        app.add_middleware(ReadGuard, engine=app.state.engine)
