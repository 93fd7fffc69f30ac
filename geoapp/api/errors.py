"""The one error path: every failure reaches HTTP through the handlers installed here, with one body.

The body is ``{code, description, zh, en, parameter?, allowed?, request_id, …}`` whatever failed: a domain
:class:`~geoapp.errors.GeoappError` (its own status), a request FastAPI could not validate (400 for a parameter,
422 for a body), a route or method that does not exist (404/405), the database unreachable or too slow (503 with
``Retry-After``), and anything unexpected (500). Database errors and unexpected ones are logged in full with the
request id and answered with a generic message and that id: never SQL text or a traceback.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from geoapp.errors import CODES, GeoappError

log = logging.getLogger("geoapp.api")

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
RETRY_AFTER_SECONDS = "5"

# What the HTTP layer's own refusals say, in both languages (messages of the status table).
_STATUS_WORDS: dict[int, tuple[str, str]] = {
    404: ("没有这个地址", "no such resource"),
    405: ("不支持该请求方法", "this method is not allowed here"),
    406: ("无法提供所要求的格式", "the requested format cannot be produced"),
    413: ("请求体过大", "the request body is too large"),
    415: ("不支持的内容类型", "unsupported content type"),
}


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id") or "-")


class RequestId:
    """Plain ASGI middleware: give every request an id (the client's ``X-Request-ID`` when it is a short token,
    else a new one), keep it in the scope for the handlers and the logs, and send it back as a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), "")
        request_id = given if _CLIENT_ID.fullmatch(given[:65]) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def error_body(status: int, zh: str, en: str, request: Request, **extra: Any) -> dict[str, Any]:
    body = {"code": CODES.get(status, "InvalidParameterValue"), "description": f"{zh} / {en}", "zh": zh, "en": en,
            **{k: v for k, v in extra.items() if v is not None}}
    body["request_id"] = request_id_of(request)
    return body


def lang_of(request: Request) -> str:
    """The language a list of reasons is given in: ``?lang=en``, else Chinese (both are always in zh/en)."""
    return "en" if request.query_params.get("lang", "")[:5] == "en" else "zh"


def error_response(request: Request, error: GeoappError) -> JSONResponse:
    body = error.body(lang_of(request))
    body["request_id"] = request_id_of(request)
    return JSONResponse(body, status_code=error.status, headers=error.headers or None)


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GeoappError)
    return error_response(request, exc)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own checks: a bad query/path/header parameter is a 400 naming it, a bad body a 422."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(part) for part in first.get("loc", ())]
    where = loc[0] if loc else "request"
    parameter = ".".join(loc[1:]) or where
    message = str(first.get("msg", "invalid"))[:300]
    status = 422 if where == "body" else 400
    zh = f"参数 {parameter} 无效：{message}" if where != "body" else f"请求体字段 {parameter} 无效：{message}"
    en = f"parameter '{parameter}' is invalid: {message}" if where != "body" else \
        f"body field '{parameter}' is invalid: {message}"
    return JSONResponse(error_body(status, zh, en, request, parameter=parameter), status_code=status)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    zh, en = _STATUS_WORDS.get(exc.status_code, ("请求无法处理", str(exc.detail)[:300]))
    return JSONResponse(error_body(exc.status_code, zh, en, request), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def _is_timeout(exc: DBAPIError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return sqlstate in ("57014", "55P03")  # query_canceled (statement_timeout), lock_not_available (lock_timeout)


async def _database(request: Request, exc: Exception) -> JSONResponse:
    """Unreachable or too slow → 503 with Retry-After; a value the database refused → 400; the rest → 500.
    Never the database's own text: it is logged with the request id instead."""
    assert isinstance(exc, SQLAlchemyError)
    request_id = request_id_of(request)
    # a timeout in the server, or every pooled connection busy for pool_timeout (a burst of slow requests)
    if isinstance(exc, PoolTimeout) or (isinstance(exc, DBAPIError) and _is_timeout(exc)):
        log.warning("request %s: database timeout: %s", request_id, getattr(exc, "orig", exc))
        return _unavailable(request, "数据库繁忙，查询超时，请稍后重试",
                            "the database is busy (timeout); try again later")
    if isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        log.warning("request %s: database unavailable: %s", request_id, exc.orig)
        return _unavailable(request, "数据库暂不可用，请稍后重试", "the database is not available, try again later")
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    if isinstance(exc, DataError) or sqlstate.startswith("22"):  # a value the database cannot use (or a NUL)
        log.info("request %s: database refused a value: %s", request_id, getattr(exc, "orig", exc))
        return JSONResponse(error_body(400, "请求中的某个值无法使用（超出范围或格式不对）", "a value of this request "
                                       "cannot be used (out of range or malformed)", request), status_code=400)
    log.error("request %s: database error", request_id, exc_info=exc)
    return _internal(request)


def _unavailable(request: Request, zh: str, en: str) -> JSONResponse:
    return JSONResponse(error_body(503, zh, en, request), status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS})


def _internal(request: Request) -> JSONResponse:
    """The generic 500: only the request id, which finds the full record in the server log."""
    return JSONResponse(error_body(500, "服务器内部错误，请联系管理员并提供请求编号", "internal error; tell the "
                                   "administrator the request id", request), status_code=500,
                        headers={REQUEST_ID_HEADER: request_id_of(request)})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    database = _database_error(exc)
    if database is not None:  # raised outside the routes (the read guard's token lookup) or by a raw driver cursor
        response = await _database(request, database)
        response.headers[REQUEST_ID_HEADER] = request_id_of(request)
        return response
    log.error("request %s: unhandled error", request_id_of(request), exc_info=exc)
    return _internal(request)


def _database_error(exc: Exception) -> SQLAlchemyError | None:
    """A database error that reached the last handler: SQLAlchemy's, or psycopg's own (COPY through the driver's
    cursor) wrapped as SQLAlchemy would, so both get the database's answers (503 when it is away)."""
    if isinstance(exc, SQLAlchemyError):
        return exc
    if isinstance(exc, psycopg.Error):
        return DBAPIError.instance(None, None, exc, psycopg.Error)
    return None


def add_exception_handlers(app: FastAPI) -> None:
    """Install the one error path (and the request id it quotes) on ``app``."""
    app.add_exception_handler(GeoappError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(SQLAlchemyError, _database)
    app.add_exception_handler(Exception, _unexpected)
    app.add_middleware(RequestId)
