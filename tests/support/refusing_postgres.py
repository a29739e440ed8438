"""A loopback server that answers every PostgreSQL connection attempt with one startup error,
as a server that is shutting down or still starting up does (SQLSTATE 57P03)."""

from __future__ import annotations

import asyncio
import contextlib
import struct

_SSL_REQUEST = 80877103


class RefusingPostgres:
    def __init__(self, message: str, sqlstate: str = "57P03") -> None:
        self.message = message
        self.sqlstate = sqlstate
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            length, code = struct.unpack("!ii", await reader.readexactly(8))
            if code == _SSL_REQUEST:
                writer.write(b"N")  # no TLS; the client sends its startup message next
                length, code = struct.unpack("!ii", await reader.readexactly(8))
            await reader.readexactly(length - 8)
            fields = b"".join(
                tag + value.encode() + b"\0"
                for tag, value in (
                    (b"S", "FATAL"),
                    (b"V", "FATAL"),
                    (b"C", self.sqlstate),
                    (b"M", self.message),
                )
            )
            writer.write(b"E" + struct.pack("!i", 4 + len(fields) + 1) + fields + b"\0")
            await writer.drain()
        writer.close()
