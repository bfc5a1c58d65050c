"""schemathesis against the loopback fake with a strict token: every check passes,
``ignored_auth`` included (a fake that accepts bad auth is a false pass), on the verbatim
status endpoint and on every operation of tests/spec/official-api.openapi.yaml.

Bounded: a few derandomized examples, loopback only, time-limited by pytest-timeout.
schemathesis is imported by a fixture, not at collection, and its pytest plugin is off
(pyproject's addopts): loading it cost every xdist worker about a second before any test.
"""

from __future__ import annotations

import traceback
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_maia.fake import FakeMaia

TOKEN = "st-token-9c4e"
SPEC = Path(__file__).parent / "spec" / "pipeline-execution-status.openapi.yaml"
OFFICIAL = Path(__file__).parent / "spec" / "official-api.openapi.yaml"
STATUS_PATH = "/v1/projects/{projectId}/pipeline-executions/{pipelineExecutionId}/status"
KNOWN_PROJECT = "proj"
KNOWN = "0b0e6a61-4f8f-4b27-9d3b-7f0c5a2f9d10"


@pytest.fixture(scope="module")
def status_operation() -> Any:
    """The spec's status operation, as schemathesis reads it."""
    import schemathesis

    return schemathesis.openapi.from_path(str(SPEC))[STATUS_PATH]["GET"]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    fake = FakeMaia(token=TOKEN, strict=True)
    fake.add_execution(KNOWN_PROJECT, ["RUNNING", "SUCCESS"], execution_id=KNOWN)
    with fake.serve() as server:
        yield server.url


@pytest.mark.timeout(120)
def test_status_endpoint_passes_every_check(status_operation: Any, base_url: str) -> None:
    from schemathesis import GenerationMode
    from schemathesis.checks import ignored_auth

    # Valid requests and requests with an invalid path or Authorization header.
    cases = st.one_of(
        status_operation.as_strategy(GenerationMode.POSITIVE),
        status_operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=50,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def check(case: Any) -> None:
        components = case.meta.components if case.meta is not None else {}
        negative = {str(loc.value) for loc, c in components.items() if c.mode.is_negative}
        positive_path = "path" not in negative and case.path_parameters is not None
        if positive_path and zlib.crc32(repr(case.path_parameters).encode()) % 2:
            # Half the valid cases read an execution that exists: a 200 is where
            # ignored_auth probes the same request without and with a wrong token.
            case.path_parameters.update(projectId=KNOWN_PROJECT, pipelineExecutionId=KNOWN)
        # A case generated without its required Authorization header is sent so.
        headers = None if "header" in negative else {"Authorization": f"Bearer {TOKEN}"}
        case.call_and_validate(
            base_url=base_url, headers=headers, additional_checks=[ignored_auth], timeout=10
        )

    check()


@pytest.mark.timeout(60)
def test_the_check_catches_a_fake_that_accepts_any_token(status_operation: Any) -> None:
    from schemathesis.checks import ignored_auth

    lenient = FakeMaia()  # zero-config: any well-formed token passes
    lenient.add_execution(KNOWN_PROJECT, "SUCCESS", execution_id=KNOWN)
    case = status_operation.Case(
        path_parameters={"projectId": KNOWN_PROJECT, "pipelineExecutionId": KNOWN}
    )
    with lenient.serve() as server, pytest.raises(BaseException) as failure:
        case.call_and_validate(
            base_url=server.url,
            headers={"Authorization": f"Bearer {TOKEN}"},
            additional_checks=[ignored_auth],
            timeout=10,
        )
    # schemathesis raises a group of check failures; ST401 is ignored_auth's.
    assert "accepts invalid authentication" in "".join(traceback.format_exception(failure.value))


# -- the official reference: every operation, every check --------------------------------


@pytest.fixture(scope="module")
def official_operations() -> list[Any]:
    """Every operation of the official spec, as schemathesis reads it."""
    import schemathesis

    schema = schemathesis.openapi.from_path(str(OFFICIAL))
    return [result.ok() for result in schema.get_all_operations()]


@pytest.fixture(scope="module")
def official_server() -> Iterator[tuple[str, str]]:
    """The loopback fake's URL, and a ``more`` token it gave (generated tokens are not)."""
    fake = FakeMaia(token=TOKEN, strict=True)
    fake.add_execution(KNOWN_PROJECT, ["RUNNING"], execution_id=KNOWN, every=10**6)
    for _ in range(3):
        fake.add_execution(KNOWN_PROJECT, "SUCCESS")
    with fake.serve() as server:
        page = requests.get(
            f"{server.url}/v1/pipeline-executions?projectId={KNOWN_PROJECT}&limit=1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ).json()
        yield server.url, page["more"]


@pytest.mark.thorough
@pytest.mark.timeout(300)
def test_every_official_operation_passes_every_check(
    official_operations: list[Any], official_server: tuple[str, str]
) -> None:
    from schemathesis import GenerationMode
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    checks = CHECKS.get_all()
    base_url, token = official_server
    names = sorted(op.label for op in official_operations)
    assert "GET /v1/pipeline-executions" in names and len(names) >= 9

    for operation in official_operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=30,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def check(case: Any) -> None:
            components = case.meta.components if case.meta is not None else {}
            negative = {str(loc.value) for loc, c in components.items() if c.mode.is_negative}
            params = case.path_parameters
            if "path" not in negative and params and zlib.crc32(repr(params).encode()) % 2:
                # Half the valid cases name what exists, so that reads succeed.
                params["projectId"] = KNOWN_PROJECT
                if "pipelineExecutionId" in params:
                    params["pipelineExecutionId"] = KNOWN
            query = case.query
            if "query" not in negative and query and "paginationToken" in query:
                query["paginationToken"] = token  # a token is one the API gave
            headers = None if "header" in negative else {"Authorization": f"Bearer {TOKEN}"}
            case.call_and_validate(base_url=base_url, headers=headers, checks=checks, timeout=10)

        check()
