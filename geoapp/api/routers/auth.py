"""Login for people (a token in a cookie and in the answer) and who-am-I; scripts use `geoapp users token`.

A login is throttled (geoapp/auth/throttle.py: 429 with Retry-After per account and per client address, checked
before any hashing) and its password hash waits for one of ``login_hash_concurrency`` slots, so a flood of logins
neither guesses passwords at speed nor allocates 64 MiB of argon2 memory per request at once. The wait for a slot
costs no thread: the route is async and only the hash itself runs in the thread pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from geoapp.auth import throttle
from geoapp.auth.accounts import Account, account_for_token, authenticate, issue_token, revoke_token
from geoapp.auth.guards import COOKIE, LoggedIn, token_from
from geoapp.errors import Unauthorized, Unavailable
from geoapp.settings import Settings

router = APIRouter(prefix="/auth", tags=["auth"])

HASH_BUSY_RETRY_SECONDS = "5"


def client_address(request: Request) -> str:
    """The address failures are counted under: the peer the ASGI server reports (see throttle.py on proxies)."""
    return request.client.host if request.client else "unknown"


@asynccontextmanager
async def hash_slot(request: Request, settings: Settings) -> AsyncIterator[None]:
    """One of ``login_hash_concurrency`` places to hash a password in (per process); 503 if none frees in time.

    The semaphore is kept on the app per event loop (a test client runs its own loop)."""
    loop = asyncio.get_running_loop()
    held = getattr(request.app.state, "login_hash_slots", None)
    if held is None or held[0] is not loop:
        held = request.app.state.login_hash_slots = (loop, asyncio.Semaphore(max(1, settings.login_hash_concurrency)))
    slots = held[1]
    try:
        await asyncio.wait_for(slots.acquire(), settings.login_hash_wait_seconds)
    except TimeoutError:
        raise Unavailable(zh="同时登录的人太多，请稍后再试", en="too many logins at once; try again in a moment",
                          headers={"Retry-After": HASH_BUSY_RETRY_SECONDS}) from None
    try:
        yield
    finally:
        slots.release()


def _refuse_if_throttled(engine: Engine, settings: Settings, username: str, address: str) -> None:
    with engine.connect() as conn:
        throttle.refuse_if_throttled(conn, settings, username, address)


def _attempt(engine: Engine, settings: Settings, username: str, password: str, address: str
             ) -> tuple[Account, str] | None:
    """Check the throttle again (the logins ahead in line may have failed meanwhile), hash, and count the outcome:
    the account and a new token, or None (the failure recorded, committed before the 401 is raised)."""
    key = throttle.username_key(username)
    with engine.begin() as conn:
        throttle.refuse_if_throttled(conn, settings, key, address)
        account = authenticate(conn, username, password)
        if account is None:
            throttle.record_failure(conn, settings, key, address)
            return None
        throttle.reset_account(conn, key)
        return account, issue_token(conn, account.username, "login", hours=settings.login_token_hours)


@router.post("/login")
async def login(request: Request, username: Annotated[str, Body()], password: Annotated[str, Body()]) -> JSONResponse:
    """Username and password (JSON) → a bearer token valid for ``login_token_hours``, also set as a cookie."""
    settings, engine = request.app.state.settings, request.app.state.engine
    address = client_address(request)
    # refused at once while throttled: a flood waits neither for a hash slot nor in front of honest logins
    await run_in_threadpool(_refuse_if_throttled, engine, settings, throttle.username_key(username), address)
    async with hash_slot(request, settings):
        outcome = await run_in_threadpool(_attempt, engine, settings, username, password, address)
    if outcome is None:
        raise Unauthorized(zh="用户名或密码错误，或账号已停用",
                           en="wrong username or password, or the account is disabled")
    account, token = outcome
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
