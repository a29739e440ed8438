from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence


class FakeResolver:
    """An address-guard resolver answering from a table; unknown names fail like getaddrinfo."""

    def __init__(self, answers: Mapping[str, Sequence[str]]) -> None:
        self.answers = dict(answers)
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.answers[host])
