"""The OpenAPI specs the conformance tests check the fake against, through openapi-core.

openapi-core is imported on first use, not at collection: importing it cost every xdist
worker 0.2 s before any test, and most workers run no conformance test.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import requests

SPECS = Path(__file__).parent / "spec"
STATUS_SPEC = SPECS / "pipeline-execution-status.openapi.yaml"
RELATED_SPEC = SPECS / "related-endpoints.openapi.yaml"
OFFICIAL_SPEC = SPECS / "official-api.openapi.yaml"


@functools.cache
def load(path: Path) -> Any:
    """The spec at ``path``, read once."""
    from openapi_core import Config, OpenAPI

    # openapi-core does not parse application/problem+json as JSON unless told to.
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_file_path(str(path), config=config)


def validate_response(
    path: Path, request: requests.Request | requests.PreparedRequest, response: requests.Response
) -> None:
    """Raise unless ``response`` is an answer the spec allows to ``request``."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    load(path).validate_response(RequestsOpenAPIRequest(request), RequestsOpenAPIResponse(response))


def request_errors(path: Path, request: requests.Request) -> list[Exception]:
    """What the spec finds wrong with ``request`` (empty: a valid request)."""
    from openapi_core.contrib.requests import RequestsOpenAPIRequest

    return list(load(path).unmarshal_request(RequestsOpenAPIRequest(request)).errors)


def validate_schema(schema: dict[str, Any], value: object) -> None:
    """Raise unless ``value`` matches the OpenAPI 3.1 ``schema``."""
    from openapi_schema_validator import OAS31Validator

    OAS31Validator(schema).validate(value)
