"""Per-poll cost of the in-process FakeMaia against a bare `responses` callback.

Both answer the same JSON on the same URL through the same `requests` session, in
interleaved batches; the median of the per-round ratios is what the fake's routing,
auth, lifecycle and call log add. Run: ``python bench/bench_fake.py`` (exit 1 when the
ratio is over budget).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable

import requests
import responses

from pytest_maia.fake import FakeMaia

BUDGET = 1.15  # issue 22: the fake adds at most 15% to a bare callback per poll
PROJECT = "bench-project"
BODY = b'{"status":"RUNNING"}'


def _batch(poll: Callable[[], object], polls: int) -> float:
    """Seconds per poll over one batch."""
    started = time.perf_counter()
    for _ in range(polls):
        poll()
    return (time.perf_counter() - started) / polls


def measure(polls: int = 100, repeats: int = 41, *, client: bool = False) -> dict[str, float]:
    """Median per-poll times (microseconds) of the fake and of a bare callback, and the median
    of the per-round ratios (fake / bare).

    With ``client=True`` both sides are polled through ``MaiaClient.get_status``
    instead of a plain ``requests.Session.get``.
    """
    fake = FakeMaia()
    execution_id = fake.add_execution(PROJECT, "RUNNING")
    url = fake.status_url(PROJECT, execution_id)
    session = requests.Session()
    session.headers["Authorization"] = "Bearer bench-token"
    if client:
        maia = fake.client(session=session)

        def poll() -> object:
            return maia.get_status(PROJECT, execution_id)

    else:

        def poll() -> object:
            return session.get(url).content

    bare = responses.RequestsMock(assert_all_requests_are_fired=False)
    # An exact-URL regex: responses matches it faster than a plain string URL, so the
    # baseline is as cheap as a bare callback gets and the ratio errs against the fake.
    bare.add_callback(
        "GET",
        re.compile(re.escape(url) + r"\Z"),
        lambda _request: (200, {"Content-Type": "application/json"}, BODY),
        content_type=None,
    )
    fake_times: list[float] = []
    bare_times: list[float] = []
    for index in range(repeats + 1):
        # Alternate which side goes first so drift in the machine hits both alike.
        order = ("fake", "bare") if index % 2 else ("bare", "fake")
        for side in order:
            if side == "fake":
                with fake:
                    seconds = _batch(poll, polls)
                if index:  # the first round only warms up
                    fake_times.append(seconds)
            else:
                # start/stop, not `with`: leaving the block would clear its registry.
                bare.start()
                try:
                    seconds = _batch(poll, polls)
                finally:
                    bare.stop(allow_assert=False)
                if index:
                    bare_times.append(seconds)
    fake_median = statistics.median(fake_times)
    bare_median = statistics.median(bare_times)
    # Each round's two batches ran back to back, so their ratio cancels slow drift.
    ratio = statistics.median(f / b for f, b in zip(fake_times, bare_times, strict=True))
    return {
        "fake_us": fake_median * 1e6,
        "bare_us": bare_median * 1e6,
        "ratio": ratio,
        "budget": BUDGET,
        "within_budget": float(ratio <= BUDGET),
        "polls": float(polls),
        "repeats": float(repeats),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=100, help="polls per batch")
    parser.add_argument("--repeats", type=int, default=41, help="interleaved batches per side")
    parser.add_argument("--client", action="store_true", help="poll through MaiaClient")
    args = parser.parse_args(argv)
    result = measure(args.polls, args.repeats, client=args.client)
    via = "MaiaClient.get_status" if args.client else "requests.Session.get"
    print(f"per poll via {via}: fake {result['fake_us']:.1f} us, bare {result['bare_us']:.1f} us")
    verdict = "OK" if result["within_budget"] else "OVER BUDGET"
    print(f"fake / bare ratio: {result['ratio']:.3f} (budget <= {BUDGET}) {verdict}")
    return 0 if result["within_budget"] else 1


if __name__ == "__main__":
    sys.exit(main())
