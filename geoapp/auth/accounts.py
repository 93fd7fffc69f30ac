"""Users and API tokens in the database: add, list, disable, authenticate, issue and check tokens.

Passwords are hashed with argon2 (argon2-cffi); tokens are random, shown once, and stored as their SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, text

from geoapp.divisions import resolve_division
from geoapp.errors import GeoappError

ROLES = ("admin", "editor", "viewer")
TOKEN_PREFIX = "gat_"
_HASHER = PasswordHasher()


@dataclass(frozen=True)
class Account:
    """Who is asking: what the API's guards and the importer need to know about a user."""

    id: int
    username: str
    role: str
    divisions: frozenset[str]
    display_name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "editor")

    @property
    def allowed_divisions(self) -> frozenset[str] | None:
        """The divisions this account may edit; None: all of them (admin)."""
        if self.is_admin:
            return None
        return self.divisions if self.role == "editor" else frozenset()

    def may_edit(self, division_code: str | None) -> bool:
        allowed = self.allowed_divisions
        return allowed is None or (division_code is not None and division_code in allowed)

    def as_dict(self) -> dict:
        return {"username": self.username, "role": self.role, "divisions": sorted(self.divisions),
                "display_name": self.display_name}


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _row_account(row) -> Account:
    return Account(row.id, row.username, row.role, frozenset(row.divisions or ()), row.display_name)


def add_user(conn: Connection, username: str, password: str, role: str, divisions: list[str] | None = None,
             display_name: str | None = None) -> Account:
    """Create an account; an editor needs at least one division (names, short forms or codes)."""
    username = username.strip()
    if not username:
        raise GeoappError("用户名不能为空 / the username is required")
    if role not in ROLES:
        raise GeoappError(f"未知角色 {role} / unknown role; use one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise GeoappError("密码至少 8 个字符 / the password needs at least 8 characters")
    codes = []
    for value in divisions or []:
        code = resolve_division(conn, value)
        if code is None:
            raise GeoappError(f"未知的旗县市区“{value}” / unknown division {value!r}")
        codes.append(code)
    if role == "editor" and not codes:
        raise GeoappError("编辑员须绑定至少一个旗县市区 / an editor needs at least one division (--division)")
    if conn.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": username}).first():
        raise GeoappError(f"用户 {username} 已存在 / user {username} exists")
    row = conn.execute(text(
        "INSERT INTO users (username, display_name, password_hash, role, divisions) "
        "VALUES (:u, :d, :h, :r, :div) RETURNING id, username, role, divisions, display_name"
    ), {"u": username, "d": display_name, "h": hash_password(password), "r": role,
        "div": sorted(set(codes))}).one()
    return _row_account(row)


def list_users(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(text(
        "SELECT username, display_name, role, divisions, disabled, created_at FROM users ORDER BY username"
    )).mappings()]


def set_disabled(conn: Connection, username: str, disabled: bool = True) -> None:
    """Disable (or enable) an account; a disabled account's tokens stop working at once."""
    done = conn.execute(text("UPDATE users SET disabled = :d WHERE username = :u"),
                        {"d": disabled, "u": username}).rowcount
    if not done:
        raise GeoappError(f"没有用户 {username} / no user {username}")


def set_password(conn: Connection, username: str, password: str) -> None:
    if len(password) < 8:
        raise GeoappError("密码至少 8 个字符 / the password needs at least 8 characters")
    done = conn.execute(text("UPDATE users SET password_hash = :h WHERE username = :u"),
                        {"h": hash_password(password), "u": username}).rowcount
    if not done:
        raise GeoappError(f"没有用户 {username} / no user {username}")


def authenticate(conn: Connection, username: str, password: str) -> Account | None:
    row = conn.execute(text(
        "SELECT id, username, role, divisions, display_name, password_hash FROM users "
        "WHERE username = :u AND NOT disabled"
    ), {"u": username.strip()}).first()
    if row is None:
        hash_password(password)  # spend the same time whether or not the user exists
        return None
    return _row_account(row) if verify_password(row.password_hash, password) else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, username: str, name: str, hours: int | None = None) -> str:
    """A new token for a user (shown once); ``hours`` None: no expiry (scripts)."""
    user_id = conn.execute(text("SELECT id FROM users WHERE username = :u AND NOT disabled"),
                           {"u": username}).scalar()
    if user_id is None:
        raise GeoappError(f"没有可用的用户 {username} / no active user {username}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=hours) if hours else None
    conn.execute(text("INSERT INTO api_tokens (user_id, name, token_hash, expires_at) VALUES (:u, :n, :h, :e)"),
                 {"u": user_id, "n": name, "h": _digest(token), "e": expires})
    return token


def revoke_token(conn: Connection, token: str) -> bool:
    return bool(conn.execute(text(
        "UPDATE api_tokens SET revoked_at = now() WHERE token_hash = :h AND revoked_at IS NULL"
    ), {"h": _digest(token)}).rowcount)


def account_for_token(conn: Connection, token: str) -> Account | None:
    """The active account a token belongs to, or None (unknown, expired, revoked, or the user disabled)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(text(
        "SELECT u.id, u.username, u.role, u.divisions, u.display_name FROM api_tokens t JOIN users u "
        "ON u.id = t.user_id WHERE t.token_hash = :h AND t.revoked_at IS NULL "
        "AND (t.expires_at IS NULL OR t.expires_at > now()) AND NOT u.disabled"
    ), {"h": _digest(token)}).first()
    return _row_account(row) if row else None
