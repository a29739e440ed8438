"""A minimal webhook target for benchmarks: answers 200 (after an optional delay), records how
late each run arrived, and reports at GET /stats.

    python -m loadtest.target_server PORT [DELAY_SECONDS]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any

import uvicorn

Scope = dict[str, Any]


class Target:
    def __init__(self, delay_seconds: float) -> None:
        self.delay_seconds = delay_seconds
        self.lateness: list[float] = []
        self.keys: Counter[str] = Counter()
        self.last_arrival: float | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/stats":
            await _reply(send, json.dumps(self.stats()).encode())
            return
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        slot = headers.get("x-cron-scheduled-for")
        if slot is not None:
            arrived = time.time()
            self.lateness.append(arrived - datetime.fromisoformat(slot).timestamp())
            self.keys[headers.get("idempotency-key", "")] += 1
            self.last_arrival = arrived
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        await _reply(send, b"ok")

    def stats(self) -> dict[str, Any]:
        return {
            "received": len(self.lateness),
            "duplicates": sum(count - 1 for count in self.keys.values()),
            "lateness": self.lateness,
            "last_arrival": self.last_arrival,
        }


async def _reply(send: Any, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    port = int(sys.argv[1])
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    uvicorn.run(Target(delay), host="127.0.0.1", port=port, log_level="warning", access_log=False)
