"""Errors a user can act on: what went wrong and what to do, in Chinese and English, with the HTTP status it means.

Every expected failure anywhere in geoapp is a :class:`GeoappError` (or a subclass). Domain modules raise them and
never speak HTTP themselves; the one handler in ``geoapp/api/errors.py`` turns any of them into the one error body
``{code, description, zh, en, parameter?, allowed?, …}`` and the CLI prints ``str(error)``.

A message is given either as one string, Chinese first and English after " / " (the older form), or as ``zh=`` and
``en=`` separately.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

# The status table: an HTTP status and the OGC-style exception code its body carries.
CODES: dict[int, str] = {
    400: "InvalidParameterValue",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "UnprocessableEntity",
    428: "PreconditionRequired",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}


def split_message(message: str) -> tuple[str, str]:
    """"中文 / English" → ("中文", "English"); a message in one language only is used for both."""
    zh, sep, en = message.partition(" / ")
    return (zh.strip(), en.strip()) if sep else (message, message)


class GeoappError(Exception):
    """An expected failure with a message meant for the person at the keyboard (or the client's author).

    ``status`` is the HTTP status the API answers with; ``parameter`` names the parameter or field at fault and
    ``allowed`` lists what would be accepted; ``headers`` go on the HTTP answer (e.g. ``Retry-After``); ``extra``
    are further members of the body (e.g. ``version`` for a 412, ``problems`` for a refused edit).
    """

    status: ClassVar[int] = 400

    def __init__(self, message: str | None = None, *, zh: str | None = None, en: str | None = None,
                 parameter: str | None = None, allowed: Iterable[Any] | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        if message is not None and zh is None and en is None:
            zh, en = split_message(message)
        self.zh = zh or en or ""
        self.en = en or zh or ""
        self.parameter = parameter
        self.allowed = list(allowed) if allowed is not None else None
        if status is not None:
            self.status = status  # type: ignore[misc]  # an instance may say more precisely than its class
        self.headers = headers or {}
        self.extra = extra
        super().__init__(message if message is not None else (f"{self.zh} / {self.en}" if zh != en else self.zh))

    @property
    def code(self) -> str:
        return CODES.get(self.status, "InvalidParameterValue" if self.status < 500 else "InternalServerError")

    def body(self, lang: str = "zh") -> dict[str, Any]:
        """The one error body every geoapp answer uses (``lang``: the request's language, for lists of reasons)."""
        body: dict[str, Any] = {"code": self.code, "description": f"{self.zh} / {self.en}" if self.zh != self.en
                                else self.zh, "zh": self.zh, "en": self.en}
        if self.parameter is not None:
            body["parameter"] = self.parameter
        if self.allowed is not None:
            body["allowed"] = self.allowed
        body.update({k: v for k, v in self.extra.items() if v is not None})
        return body


class NotFound(GeoappError):
    """Something named in the request does not exist (an unknown collection, feature, project, plan)."""

    status = 404


class Unauthorized(GeoappError):
    """No login, or a token that does not work."""

    status = 401

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(GeoappError):
    """Logged in, but this account may not do this."""

    status = 403


class Conflict(GeoappError):
    """The request contradicts the stored state (a code that exists, a closed item)."""

    status = 409


class TooLarge(GeoappError):
    """A body, upload, sheet or plan over its limit (the limit is a setting and the message names it)."""

    status = 413


class Unprocessable(GeoappError):
    """A well-formed request whose content does not pass the checks."""

    status = 422


class TooManyRequests(GeoappError):
    """Throttled: the ``Retry-After`` header says when to try again."""

    status = 429


class Unavailable(GeoappError):
    """A part geoapp needs is not there right now (database, fonts); try again later."""

    status = 503
