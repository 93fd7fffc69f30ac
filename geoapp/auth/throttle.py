"""Login throttling: failed logins counted per account and per client address over a window, in PostgreSQL.

Why the database and not memory: with several uvicorn workers, or after a restart, an in-process count would give a
guesser N tries per worker and per restart; the ``login_failures`` table (migration 0005) is shared by them all.
Only failures are stored, never a password. Once an account (or an address) has ``login_max_failures_per_*``
failures in ``login_failure_window_seconds``, its next attempts are refused with 429 and ``Retry-After`` *before*
any password is hashed, and refused attempts are not counted, so the table stays small and the count does not
grow while the guesser waits. A successful login clears its account's failures (not its address's: a guesser
holding one account of their own must not be able to reset their address's count with it).

The address is the client address the ASGI server reports (``request.client.host``). geoapp never reads
``X-Forwarded-For`` itself: anyone can send that header. Behind a reverse proxy, uvicorn puts the proxy's
``X-Forwarded-For`` into the client address only for proxies it trusts (``--forwarded-allow-ips`` /
``FORWARDED_ALLOW_IPS``, default 127.0.0.1 and ::1), so that is where trusted proxies are configured.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, text

from geoapp.errors import TooManyRequests
from geoapp.settings import Settings

log = logging.getLogger("geoapp.auth")

USERNAME_KEY_CHARS = 200  # a longer "username" is not an account; it need not fill the table

_NTH_RECENT = """(SELECT ceil(extract(epoch FROM at + make_interval(secs => :window) - now()))
                   FROM login_failures WHERE {column} = :{column} AND at > now() - make_interval(secs => :window)
                   ORDER BY at DESC OFFSET :{column}_limit - 1 LIMIT 1)"""
_RETRY_AFTER = text(f"SELECT {_NTH_RECENT.format(column='username')}, {_NTH_RECENT.format(column='address')}")


def username_key(username: str) -> str:
    """The name failures are counted under: as ``authenticate`` looks it up (stripped), bounded in length."""
    return username.strip()[:USERNAME_KEY_CHARS]


def retry_after(conn: Connection, settings: Settings, username: str, address: str) -> int | None:
    """Seconds until this account may be tried again from this address; None: it may be tried now.

    The attempt is allowed again when the N-th most recent failure (N the limit) leaves the window, so the wait
    is the time until then, for the account and for the address, whichever is longer."""
    account, by_address = conn.execute(_RETRY_AFTER, {
        "window": settings.login_failure_window_seconds, "username": username, "address": address,
        "username_limit": max(1, settings.login_max_failures_per_account),
        "address_limit": max(1, settings.login_max_failures_per_address),
    }).one()
    waits = [int(w) for w in (account, by_address) if w is not None]
    return max(1, *waits) if waits else None


def refuse_if_throttled(conn: Connection, settings: Settings, username: str, address: str) -> None:
    """Raise 429 with Retry-After when the account or the address has failed too often (logged, no hash spent)."""
    wait = retry_after(conn, settings, username, address)
    if wait is None:
        return
    log.warning("login throttled: user %r from %s, retry after %d s", username, address, wait)
    minutes = max(1, round(wait / 60))
    raise TooManyRequests(
        zh=f"登录失败次数过多，请约 {minutes} 分钟后再试", en=f"too many failed logins; try again in about "
        f"{minutes} minute{'s' if minutes > 1 else ''}", headers={"Retry-After": str(wait)}, retry_after=wait)


def record_failure(conn: Connection, settings: Settings, username: str, address: str) -> None:
    """Count a failed login (and log it, never the password); failures older than the window are pruned."""
    log.warning("login failed: user %r from %s", username, address)
    conn.execute(text("INSERT INTO login_failures (username, address) VALUES (:u, :a)"),
                 {"u": username, "a": address})
    conn.execute(text("DELETE FROM login_failures WHERE at < now() - make_interval(secs => :w)"),
                 {"w": settings.login_failure_window_seconds})


def reset_account(conn: Connection, username: str) -> None:
    """A successful login: the account's failures no longer count."""
    conn.execute(text("DELETE FROM login_failures WHERE username = :u"), {"u": username})
