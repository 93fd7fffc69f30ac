"""Password guessing and login floods (issue item 7). Before the fix thirty wrong passwords in a row all got 401 and
each one cost a 64 MiB argon2 hash, however many arrived at once. Now failures are counted per account and per
client address (in PostgreSQL, so every worker sees them); past the limit the answer is 429 with Retry-After,
before any hash; failures are logged without the password; and at most ``login_hash_concurrency`` hashes run at
once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from geoapp.api.app import create_app
from geoapp.auth import accounts as accounts_mod
from geoapp.settings import Settings
from tests.browser_support import live_server

GUESSER, OTHER_PLACE = ("203.0.113.7", 40000), ("198.51.100.20", 40000)


@pytest.fixture
def no_failures(engine: Engine, accounts) -> Iterator[None]:
    """No failed logins counted before or after (they would throttle the tests that come later)."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE login_failures"))
    yield
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE login_failures"))


class CountingHasher:
    """The real argon2 hasher, counting how many hashes run at the same moment (and in all)."""

    def __init__(self, real) -> None:
        self.real, self.lock = real, threading.Lock()
        self.running = self.peak = self.total = 0

    def _counted(self, work, *args):
        with self.lock:
            self.running += 1
            self.total += 1
            self.peak = max(self.peak, self.running)
        try:
            return work(*args)
        finally:
            with self.lock:
                self.running -= 1

    def hash(self, password):
        return self._counted(self.real.hash, password)

    def verify(self, stored, password):
        return self._counted(self.real.verify, stored, password)


@pytest.fixture
def hasher(monkeypatch) -> CountingHasher:
    counting = CountingHasher(accounts_mod._HASHER)
    monkeypatch.setattr(accounts_mod, "_HASHER", counting)
    return counting


def client_from(settings: Settings, engine: Engine, address: tuple[str, int]) -> TestClient:
    return TestClient(create_app(settings, settings.database_url, engine=engine), client=address)


def login(client: TestClient, username: str, password: str) -> httpx.Response:
    return client.post("/auth/login", json={"username": username, "password": password})


def test_thirty_wrong_passwords_get_429_with_retry_after_past_the_limit_and_those_are_not_hashed(
        settings, engine, no_failures, hasher):
    limit = settings.login_max_failures_per_account
    with client_from(settings, engine, GUESSER) as guesser:
        answers = [login(guesser, "editor", f"guess-{i}") for i in range(30)]
    assert [a.status_code for a in answers] == [401] * limit + [429] * (30 - limit)
    throttled = answers[-1]
    assert 0 < int(throttled.headers["Retry-After"]) <= settings.login_failure_window_seconds
    body = throttled.json()
    assert body["code"] == "TooManyRequests" and "登录失败次数过多" in body["zh"] and "too many" in body["en"]
    assert hasher.total == limit  # the 429s cost no hash


def test_a_throttled_account_is_refused_even_with_its_password_while_another_account_logs_in_elsewhere(
        settings, engine, no_failures):
    limit = settings.login_max_failures_per_account
    with client_from(settings, engine, GUESSER) as guesser, client_from(settings, engine, OTHER_PLACE) as office:
        for i in range(limit):
            assert login(guesser, "editor", f"guess-{i}").status_code == 401
        assert login(guesser, "editor", "editor-pass-1").status_code == 429  # no hash: the password is not tried
        assert login(office, "editor", "editor-pass-1").status_code == 429  # the account's count, any address
        assert login(office, "viewer", "viewer-pass-1").status_code == 200  # the other account from elsewhere


def test_an_address_that_failed_too_often_is_throttled_whatever_account_it_tries(settings, engine, no_failures):
    tight = settings.model_copy(update={"login_max_failures_per_address": 5})
    with client_from(tight, engine, GUESSER) as guesser, client_from(tight, engine, OTHER_PLACE) as office:
        for i in range(5):
            assert login(guesser, f"user-{i}", "spray-password").status_code == 401  # one try per name
        refused = login(guesser, "viewer", "viewer-pass-1")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert login(office, "viewer", "viewer-pass-1").status_code == 200


def test_a_successful_login_clears_the_accounts_failures(settings, engine, no_failures):
    limit = settings.login_max_failures_per_account
    with client_from(settings, engine, GUESSER) as person:
        for i in range(limit - 1):
            assert login(person, "viewer", f"typo-{i}").status_code == 401
        assert login(person, "viewer", "viewer-pass-1").status_code == 200
        assert [login(person, "viewer", f"typo-again-{i}").status_code for i in range(limit - 1)] == \
            [401] * (limit - 1)


def test_failed_and_throttled_logins_are_logged_with_name_and_address_never_the_password(
        settings, engine, no_failures, caplog):
    tight = settings.model_copy(update={"login_max_failures_per_account": 1})
    with caplog.at_level(logging.WARNING, logger="geoapp.auth"), client_from(tight, engine, GUESSER) as guesser:
        login(guesser, "editor", "Secret-Guess-1")
        login(guesser, "editor", "Secret-Guess-2")
    lines = [r.getMessage() for r in caplog.records if r.name == "geoapp.auth"]
    assert any("failed" in line and "'editor'" in line and GUESSER[0] in line for line in lines)
    assert any("throttled" in line and "'editor'" in line and GUESSER[0] in line for line in lines)
    assert not any("Secret-Guess" in line for line in lines)


def test_a_login_flood_runs_at_most_the_configured_number_of_hashes_at_once(settings, engine, no_failures,
                                                                            hasher):
    bounded = settings.model_copy(update={"login_hash_concurrency": 2, "login_max_failures_per_address": 100})
    with live_server(engine, bounded) as url, ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda i: httpx.post(f"{url}/auth/login", timeout=60,
                                                     json={"username": f"flood-{i}", "password": "x" * 12}),
                                range(12)))
    assert [a.status_code for a in answers] == [401] * 12
    assert hasher.total == 12 and hasher.peak == 2  # twelve at once, never more than two hashing
