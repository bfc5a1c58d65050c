"""Where the Maia fixtures talk to, and what each choice means for the rest of the code.

The code asks a backend what it does (virtual time, may it record, may it reach the
network), never which one it is by name: the names live here and in the settings.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Backend"]


class Backend(str, Enum):
    """``fake`` (scripted in-process, offline), ``live`` (the real API) or ``replay``
    (the in-process fake, scripted from recorded cassettes)."""

    FAKE = "fake"
    LIVE = "live"
    REPLAY = "replay"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def virtual_time(self) -> bool:
        """Waits run on the fake's virtual clock: reports say seconds are virtual."""
        return self is not Backend.LIVE

    @property
    def offline(self) -> bool:
        """Served by the in-process fake: nothing reaches the network."""
        return self is not Backend.LIVE

    @property
    def reaches_network(self) -> bool:
        """Talks to a real server: needs a project and credentials, may leave runs going."""
        return self is Backend.LIVE

    @property
    def may_record(self) -> bool:
        """Its exchanges can be recorded into cassettes."""
        return self is Backend.LIVE

    @property
    def scripted_by_test(self) -> bool:
        """Tests script the fake themselves (``maia_fake``, ``maia_script``)."""
        return self is Backend.FAKE

    @property
    def replays(self) -> bool:
        """Plays recorded cassettes back, and serves nothing else."""
        return self is Backend.REPLAY
