"""Contract fuzzing: schemathesis generates requests from the whole /api document, anonymously and as an editor.

Every operation geoapp answers is in /api (the one document), so the fuzzer reaches the writes too. Whatever it
sends, no answer is a 5xx, every answer's status, content type and body are the ones /api declares, and every
refusal is the one error body. Bounded: ``EXAMPLES`` cases per operation and identity, no deadline per case.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks
from sqlalchemy import Engine, text

from geoapp.api.app import create_app
from geoapp.auth.accounts import add_user, issue_token
from geoapp.settings import Settings

EXAMPLES = 20
CHECKS = [checks.not_a_server_error, openapi_checks.status_code_conformance,
          openapi_checks.content_type_conformance, openapi_checks.response_schema_conformance]
ERROR_KEYS = {"code", "description", "zh", "en", "request_id"}


@pytest.fixture(scope="module")
def fuzzed_app(settings: Settings, database_url: str, layers_db: Engine) -> Iterator[FastAPI]:
    yield create_app(settings, database_url, engine=layers_db)


@pytest.fixture(scope="module")
def api_schema(fuzzed_app: FastAPI):
    return schemathesis.openapi.from_asgi("/api", fuzzed_app)


@pytest.fixture(scope="module")
def editor_headers(fuzzed_app: FastAPI, layers_db: Engine) -> Iterator[dict[str, str]]:
    """An editor's token; afterwards the fuzzer's failed logins are forgotten (they throttle its address)."""
    with layers_db.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE username = 'fuzz-editor'"))
        add_user(conn, "fuzz-editor", "fuzz-editor-pass", "editor", ["科区"])
        headers = {"Authorization": f"Bearer {issue_token(conn, 'fuzz-editor', 'fuzz')}"}
    yield headers
    with layers_db.begin() as conn:
        conn.execute(text("DELETE FROM login_failures"))


def _is_the_one_error_body(response) -> bool:
    if response.status_code < 400 or "json" not in response.headers.get("content-type", ""):
        return True
    body = response.json()
    if isinstance(body, dict) and "problems" in body and "ok" in body:  # an import's row report
        return True
    return isinstance(body, dict) and set(body) >= ERROR_KEYS


def _fuzz(operation, identities: list[dict[str, str]]) -> int:
    """Run ``EXAMPLES`` generated cases of one operation for each identity; the number of requests sent."""
    sent = 0

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case) -> None:
        nonlocal sent
        for headers in identities:
            response = case.call(headers=headers)
            sent += 1
            case.validate_response(response, checks=CHECKS)
            assert _is_the_one_error_body(response), (case.method, case.path, response.status_code,
                                                      response.text[:300])

    run()
    return sent


def test_no_generated_request_gets_a_5xx_or_an_undeclared_answer(api_schema, editor_headers):
    """Every operation of /api, anonymous then as an editor of 科尔沁区: every answer conforms to /api (status,
    content type, body) and no refusal is anything but the one error body."""
    failures, operations, sent = [], 0, 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            sent += _fuzz(operation, [{}, editor_headers])
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure, then fail once
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    print(f"contract fuzz: {operations} operations, {sent} requests")
    assert operations > 40, "the /api document should describe every operation, writes included"
    assert not failures, "\n\n".join(failures)
