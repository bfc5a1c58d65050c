"""Secrets held out of sight (pytest_maia.redact)."""

from __future__ import annotations

import pickle

from pytest_maia.redact import Secret


def test_secret_survives_pickling_for_xdist() -> None:
    secret = pickle.loads(pickle.dumps(Secret("abc")))
    assert secret.reveal() == "abc"
    assert repr(secret) == "Secret('***')"
