"""The client ceiling: the same requests the scheduler makes, fired by the guarded HTTP client
alone (no database), for `scheduler_bench` to compare against.

    python -m loadtest.bare_client URL COUNT CONCURRENCY START_EPOCH [OFFSET]

Waits until START_EPOCH, then makes COUNT webhook calls to URL (request numbers from OFFSET)
with the scheduler's headers and body, at most CONCURRENCY at once, through one HttpClient
and the address guard, exactly as a scheduler process calls out. Prints the CPU seconds the
calls took (the process's own, from the first call to the last answer).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime

from integrations import outbound, webhook
from integrations.address_guard import AddressGuard


async def fire(
    url: str, count: int, concurrency: int, start_epoch: float, offset: int
) -> tuple[int, float]:
    """How many calls failed, and the CPU seconds they took."""
    client = outbound.HttpClient(concurrency)
    guard = AddressGuard(allow_private=True)
    slots = asyncio.Semaphore(concurrency)
    slot = datetime.fromtimestamp(start_epoch, UTC)
    failures = 0

    async def one(number: int) -> None:
        nonlocal failures
        async with slots:
            result = await webhook.call(
                client,
                guard,
                method="POST",
                url=url,
                metadata={"n": number},
                headers=webhook.run_headers(uuid.uuid4(), slot, 1),
                timeout_seconds=30,
            )
            failures += not result.ok

    try:
        await asyncio.sleep(max(0.0, start_epoch - time.time()))
        started = time.process_time()
        await asyncio.gather(*(one(offset + number) for number in range(count)))
        cpu_seconds = time.process_time() - started
    finally:
        await client.aclose()
    return failures, cpu_seconds


if __name__ == "__main__":
    target, total, limit, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    first = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    failed, cpu = asyncio.run(fire(target, total, limit, float(start), first))
    print(cpu)
    sys.exit(1 if failed else 0)
