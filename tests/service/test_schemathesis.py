"""Property-based requests over the whole OpenAPI document, valid and invalid: no input makes
a 5xx, and every response is one the document declares (status, content type, schema).

It runs on its own database and a broker folder no worker reads, so the runs it submits are
never executed. The server requires tokens, as one reachable from elsewhere does; every
request carries a write token, so it reaches the handlers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.app import create_app
from backend.auth.service import create_token
from backend.db import make_engine, make_session_factory
from backend.migrations import upgrade_to_head
from backend.settings import Settings

from ..real_services import fresh_database_url

# Hundreds of generated requests: seconds each mode, so not in make test-fast.
pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE])  # fmt: skip
def test_no_request_makes_a_server_error(tmp_path: Path, mode: schemathesis.GenerationMode) -> None:
    fuzz_settings = Settings(
        home=tmp_path,
        database_url=fresh_database_url(tmp_path, f"fuzz_{mode.value}"),
        broker_url="",  # a folder of the test's own: nothing consumes what it submits
        max_upload_bytes=64 * 1024,
        api_tokens_required=True,
        # schemathesis addresses its in-process requests to "testserver".
        allowed_hosts=("testserver",),
    )
    upgrade_to_head(fuzz_settings)
    engine = make_engine(fuzz_settings.database_url)
    with make_session_factory(engine)() as session:
        _, secret = create_token(session, name="fuzz", scope="write")
        session.commit()
    engine.dispose()
    headers = {"Authorization": f"Bearer {secret}"}

    api_schema = schemathesis.openapi.from_asgi(
        "/openapi.json", create_app(fuzz_settings), headers=headers
    )
    operations = [result.ok() for result in api_schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20
    for operation in operations:
        takes_input = {"parameters", "requestBody"} & operation.definition.raw.keys()
        if mode is schemathesis.GenerationMode.NEGATIVE and not takes_input:
            continue  # no input, so no invalid request to make

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
