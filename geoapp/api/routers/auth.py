"""Login for people (a token in a cookie and in the answer) and who-am-I; scripts use `geoapp users token`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from geoapp.auth.accounts import account_for_token, authenticate, issue_token, revoke_token
from geoapp.auth.guards import COOKIE, LoggedIn, token_from

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
def login(request: Request, username: Annotated[str, Body()], password: Annotated[str, Body()]) -> JSONResponse:
    """Username and password (JSON) → a bearer token valid for ``login_token_hours``, also set as a cookie."""
    settings = request.app.state.settings
    with request.app.state.engine.begin() as conn:
        account = authenticate(conn, username, password)
        if account is None:
            zh, en = "用户名或密码错误，或账号已停用", "wrong username or password, or the account is disabled"
            return JSONResponse({"detail": {"message": f"{zh} / {en}", "zh": zh, "en": en}}, status_code=401)
        token = issue_token(conn, account.username, "login", hours=settings.login_token_hours)
    response = JSONResponse({"token": token, "token_type": "bearer", "user": account.as_dict(),
                             "expires_in": settings.login_token_hours * 3600})
    response.set_cookie(COOKIE, token, max_age=settings.login_token_hours * 3600, httponly=True, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request) -> JSONResponse:
    token = token_from(request)
    if token:
        with request.app.state.engine.begin() as conn:
            revoke_token(conn, token)
    response = JSONResponse({"ok": True})
    response.delete_cookie(COOKIE)
    return response


@router.get("/session")
def session(request: Request) -> JSONResponse:
    """What the web map asks first, never refused: whether reading needs a login here, who is logged in (None
    when nobody) and the default language, so the page can show its login dialog without a failing request.
    A cookie whose token no longer works is cleared, so it does not turn later open reads into 401s."""
    settings = request.app.state.settings
    token = token_from(request)
    account = None
    if token:
        with request.app.state.engine.connect() as conn:
            account = account_for_token(conn, token)
    response = JSONResponse({"read_requires_login": settings.read_requires_login, "lang": settings.lang,
                             "user": account.as_dict() if account else None})
    if token and account is None and request.cookies.get(COOKIE):
        response.delete_cookie(COOKIE)
    return response


@router.get("/me")
def me(account: LoggedIn) -> dict:
    return account.as_dict()
