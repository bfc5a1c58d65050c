"""A CI script of the kind found in public repositories, written without pytest-maia.

It uses plain `requests` the way such scripts do: fetch an OAuth token with a form POST,
start a pipeline, then poll the execution's details every few seconds until it ends,
fetching a new token when the API answers 401. The tests run it against FakeMaia to show
that a client someone else wrote works against the fake unchanged.

    MAIA_CLIENT_ID=... MAIA_CLIENT_SECRET=... python foreign_ci_script.py \\
        BASE_URL TOKEN_URL PROJECT PIPELINE ENVIRONMENT
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import requests

FINISHED = {"SUCCESS", "FAILED", "CANCELLED", "SKIPPED", "FORBIDDEN"}


def get_token(token_url: str, client_id: str, client_secret: str) -> str:
    """An access token for the Maia API (OAuth client credentials)."""
    response = requests.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": "https://api.matillion.com",
        },
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def main(
    base_url: str,
    token_url: str,
    *,
    project_id: str,
    pipeline_name: str,
    environment: str,
    client_id: str,
    client_secret: str,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = 10,
    max_polls: int = 720,
) -> str:
    """Run the pipeline and return its final status; raises SystemExit on a timeout."""
    token = get_token(token_url, client_id, client_secret)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    started = requests.post(
        f"{base_url}/v1/projects/{project_id}/pipeline-executions",
        json={"pipelineName": pipeline_name, "environmentName": environment},
        headers=headers,
        timeout=30,
    )
    started.raise_for_status()
    execution_id = started.json()["pipelineExecutionId"]
    print(f"started {pipeline_name}: {execution_id}")
    details_url = f"{base_url}/v1/projects/{project_id}/pipeline-executions/{execution_id}"
    for _ in range(max_polls):
        sleep(poll_seconds)
        response = requests.get(details_url, headers=headers, timeout=30)
        if response.status_code == 401:  # the token expired: get another one
            token = get_token(token_url, client_id, client_secret)
            headers["Authorization"] = f"Bearer {token}"
            continue
        response.raise_for_status()
        body = response.json()
        status = body.get("status") or (body.get("result") or {}).get("status")
        print(f"{execution_id}: {status}")
        if status in FINISHED:
            return str(status)
    raise SystemExit(f"gave up waiting for {execution_id}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("base_url", "token_url", "project", "pipeline", "environment"):
        parser.add_argument(name)
    parser.add_argument("--poll-seconds", type=float, default=10)
    args = parser.parse_args()
    final = main(
        args.base_url,
        args.token_url,
        project_id=args.project,
        pipeline_name=args.pipeline,
        environment=args.environment,
        client_id=os.environ["MAIA_CLIENT_ID"],
        client_secret=os.environ["MAIA_CLIENT_SECRET"],
        poll_seconds=args.poll_seconds,
    )
    sys.exit(0 if final == "SUCCESS" else 1)
