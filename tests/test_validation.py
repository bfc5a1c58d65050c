"""Checks made before any request (pytest_maia.core.validation): on their own, and through
MaiaClient (issue 10: malformed input is a validation error, item 8; no credential goes
over plain http to a host that is not loopback, item 4)."""

from __future__ import annotations

import pytest

from conftest import EXECUTION
from pytest_maia import ExecutionStatus, MaiaClient, MaiaValidationError, VirtualClock
from pytest_maia.core.validation import (
    check_execution_id,
    check_project_id,
    check_status,
    positive_seconds,
    suggest_status,
)

TOKEN = "tok-CLIENT-SEKRIT"
SECRET = "cs-HARDEN-SEKRIT-2b7"


def test_execution_id_canonicalised() -> None:
    upper = "3FA85F64-5717-4562-B3FC-2C963F66AFA6"
    assert check_execution_id(upper) == upper.lower()


def test_project_id_quoting() -> None:
    assert check_project_id("a b%c") == "a%20b%25c"
    with pytest.raises(MaiaValidationError):
        check_project_id("..")


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), True, "5", None], ids=repr)
def test_positive_seconds_refuses_what_is_not_a_positive_number(value: object) -> None:
    with pytest.raises(MaiaValidationError, match="timeout must be a positive number of seconds"):
        positive_seconds(value, "timeout")


def test_positive_seconds_gives_a_float() -> None:
    assert positive_seconds(3, "interval") == 3.0
    assert isinstance(positive_seconds(3, "interval"), float)


def test_status_checks_suggest_only_what_is_close() -> None:
    assert suggest_status("cancelled") == "CANCELLED"
    assert suggest_status("CANCELED") == "CANCELLED"
    assert suggest_status("xyz") is None
    assert check_status(ExecutionStatus.unrecognised("PAUSED")).value == "PAUSED"
    with pytest.raises(MaiaValidationError, match=r"is not an execution status \(statuses are"):
        check_status("xyz")
    with pytest.raises(MaiaValidationError, match="got int 3"):
        check_status(3)
    for bad in ("", "  ", "A\nB"):
        with pytest.raises(ValueError, match="non-empty string without control"):
            ExecutionStatus.unrecognised(bad)


# -- 8. malformed input is a validation error ------------------------------------------


@pytest.mark.parametrize(
    "url", ["https://[::1/dpc", "http://127.0.0.1:99999/dpc", "http://127.0.0.1:0/dpc"]
)
def test_a_malformed_base_url_is_a_validation_error(url: str) -> None:
    with pytest.raises(MaiaValidationError, match="base_url"):
        MaiaClient(url, token=TOKEN)


def test_a_project_id_with_a_lone_surrogate_is_a_validation_error() -> None:
    client = MaiaClient("http://127.0.0.1:9/dpc", token=TOKEN, clock=VirtualClock())
    with pytest.raises(MaiaValidationError, match="project id"):
        client.get_status("proj\udcff", EXECUTION)


# -- 4. never a bearer over plain http to a host that is not loopback ------------------


@pytest.mark.parametrize("field", ["base_url", "token_url"])
def test_no_credential_goes_over_plain_http_to_a_host_that_is_not_loopback(field: str) -> None:
    kwargs: dict[str, object] = {"client_id": "id", "client_secret": SECRET}
    url = "http://maia.example.com/dpc"
    if field == "base_url":
        args: tuple[str, ...] = (url,)
    else:
        args, kwargs["token_url"] = ("http://127.0.0.1:9/dpc",), url + "/token"
    with pytest.raises(MaiaValidationError, match="plain http") as info:
        MaiaClient(*args, **kwargs)  # type: ignore[arg-type]
    assert SECRET not in str(info.value)
