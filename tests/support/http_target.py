"""A real HTTP/1.1 server on loopback that stands in for webhook targets, GitHub or Slack.

Each test scripts what it answers (`respond`, `hang`, `stream`, or a `responder` that decides per
request) and reads what it received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    stream_bytes: int = 0
    delay_seconds: float = 0


class HttpTarget:
    """`host` is the loopback address to listen on (`::1` for IPv6); with `tls` it serves
    HTTPS and records the server names clients asked for (SNI) in `server_names`."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls = tls
        self.server_names: list[str | None] = []
        self.received: list[ReceivedRequest] = []
        self.bytes_sent = 0
        self.port = 0
        self._script: deque[Reply] = deque()
        self.default = Reply()
        # Decides the answer to each request once the script is used up (instead of `default`).
        self.responder: Callable[[ReceivedRequest], Reply] | None = None
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._arrived = asyncio.Event()
        # Requests answered with `hang` whose client gave up (closed the connection).
        self.hung_up = 0
        self._hung_up = asyncio.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def respond(self, *replies: Reply) -> None:
        """Answer the next requests with `replies`, in order, then with `default`."""
        self._script.extend(replies)

    async def start(self) -> None:
        if self.tls is not None:
            self.tls.sni_callback = self._note_server_name
        self._server = await asyncio.start_server(self._on_connection, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def wait_for_requests(self, count: int, within_seconds: float = 10) -> None:
        async with asyncio.timeout(within_seconds):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

    def _note_server_name(
        self, _socket: ssl.SSLObject, server_name: str | None, _context: ssl.SSLContext
    ) -> None:
        self.server_names.append(server_name)

    async def wait_for_hang_ups(self, count: int, within_seconds: float = 10) -> None:
        async with asyncio.timeout(within_seconds):
            while self.hung_up < count:
                self._hung_up.clear()
                await self._hung_up.wait()

    def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(self._serve(reader, writer))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.received.append(request)
                self._arrived.set()
                reply = self._next_reply(request)
                if reply.hang:
                    await reader.read()  # nothing is answered: until the client hangs up
                    self.hung_up += 1
                    self._hung_up.set()
                    return
                await self._answer(reply, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    def _next_reply(self, request: ReceivedRequest) -> Reply:
        if self._script:
            return self._script.popleft()
        if self.responder is not None:
            return self.responder(request)
        return self.default

    async def _answer(self, reply: Reply, writer: asyncio.StreamWriter) -> None:
        if reply.delay_seconds:
            await asyncio.sleep(reply.delay_seconds)
        length = reply.stream_bytes or len(reply.body)
        head = [f"HTTP/1.1 {reply.status} X", f"Content-Length: {length}"]
        head += [f"{name}: {value}" for name, value in reply.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        if not reply.stream_bytes:
            writer.write(reply.body)
            self.bytes_sent += len(reply.body)
            await writer.drain()
            return
        chunk = b"x" * 65536
        remaining = reply.stream_bytes
        while remaining > 0:
            piece = chunk[: min(remaining, len(chunk))]
            writer.write(piece)
            await writer.drain()
            self.bytes_sent += len(piece)
            remaining -= len(piece)


def failing_first_attempts(failures: int, reply: Reply) -> Callable[[ReceivedRequest], Reply]:
    """A responder answering `reply` to the first `failures` requests of each slot (counted by
    Idempotency-Key, as a target de-duplicating retries would), and 200 after that."""
    seen: Counter[str] = Counter()

    def respond(request: ReceivedRequest) -> Reply:
        key = request.headers.get("idempotency-key", "")
        seen[key] += 1
        return reply if seen[key] <= failures else Reply()

    return respond


async def _read_request(reader: asyncio.StreamReader) -> ReceivedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return ReceivedRequest(method, path, headers, body)
