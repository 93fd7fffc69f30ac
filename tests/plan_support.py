"""Writing route plans needs an editor (hardening issue, item 2): bearer headers for the tests that plan through
the API from module-scoped fixtures, where the function-scoped ``accounts`` fixture cannot be used."""

from __future__ import annotations

from sqlalchemy import Engine, text

from geoapp.auth.accounts import add_user, issue_token

PLANNER = "route-planner"


def planner_headers(engine: Engine) -> dict[str, str]:
    """Bearer headers of an editor allowed to write plans (the account is made when missing, e.g. after the
    ``accounts`` fixture emptied the users)."""
    with engine.begin() as conn:
        if conn.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": PLANNER}).first() is None:
            add_user(conn, PLANNER, "planner-pass-1", "editor", ["科区"])
        return {"Authorization": f"Bearer {issue_token(conn, PLANNER, 'tests')}"}
