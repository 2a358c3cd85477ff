"""The last-moment lease guard on a platform's HTTP connections (Discord and Slack senders).

The delivery engine renews its lease right before each send, but a process can be paused
(SIGSTOP, a VM migration) between that renewal and the request leaving, and another runner
may take over meanwhile. So the connections the senders post through ask
`bot.sender.may_still_send` once more as the request's bytes are written: aiohttp writes a
request's headers and body together, in one task step after the request's last await, and
that write task inherits the context variable from the engine's send task.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp.client_proto import ResponseHandler


class RequestWithheld(ConnectionAbortedError):
    """The last-moment guard said no: the request was not written (nothing reached Discord)."""


class _GuardedTransport:
    """The socket's transport, except that each write first asks `allowed()`: the engine's
    last word on whether this process may still post, asked as the bytes leave."""

    def __init__(self, transport: asyncio.Transport, allowed: Callable[[], bool]) -> None:
        self._transport = transport
        self._allowed = allowed

    def write(self, data: Any) -> None:
        if not self._allowed():
            raise RequestWithheld("the delivery lease is no longer fresh: request withheld")
        self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        if not self._allowed():
            raise RequestWithheld("the delivery lease is no longer fresh: request withheld")
        self._transport.writelines(chunks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _GuardedResponseHandler(ResponseHandler):
    def __init__(self, *args: Any, allowed: Callable[[], bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._allowed = allowed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.transport = _GuardedTransport(transport, self._allowed)  # type: ignore[assignment]


def guarded_connector(allowed: Callable[[], bool], *, limit: int = 0) -> aiohttp.TCPConnector:
    """A connector (`limit` connections; 0: no limit, as discord.py makes its own) whose
    sockets ask `allowed()` before every write: the last moment before a request leaves."""
    connector = aiohttp.TCPConnector(limit=limit)
    # aiohttp builds each connection's protocol with `_factory` (BaseConnector.__init__).
    connector._factory = functools.partial(  # type: ignore[attr-defined]
        _GuardedResponseHandler,
        loop=connector._loop,
        allowed=allowed,  # type: ignore[attr-defined]
    )
    return connector


def withheld(exc: BaseException | None) -> bool:
    """Did the guard stop this request (however aiohttp and the client library wrapped it)?"""
    while exc is not None:
        if isinstance(exc, RequestWithheld):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
