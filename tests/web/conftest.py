"""A store with For All Mankind S4 followed by console:general, and the web app on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.calendar import CalendarFeeds, FeedScope
from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import ChannelRef
from bot.store import Store
from tests.conftest import OPERATOR, add_fam
from web.metrics import Metrics
from web.server import WebContext, create_app

FAM = "For All Mankind"
GENERAL = ChannelRef.parse("console:general")
PUBLIC_URL = "https://episodes.example.org"
OPERATOR_TOKEN = "operator-token-for-tests-0123456789"


@pytest.fixture
def fam(commands: Commands) -> Commands:
    add_fam(commands)
    commands.subscribe(OPERATOR, GENERAL, FAM)
    return commands


@pytest.fixture
def feeds(store: Store, clock: FixedClock) -> CalendarFeeds:
    return CalendarFeeds(store, clock)


@pytest.fixture
def general_token(fam: Commands, feeds: CalendarFeeds) -> str:
    return feeds.token_for(FeedScope.of_channel(GENERAL))


@pytest.fixture
def web_context(store: Store, clock: FixedClock) -> WebContext:
    return WebContext(
        store=store,
        clock=clock,
        metrics=Metrics(store),
        public_url=PUBLIC_URL,
        operator_token=OPERATOR_TOKEN,
    )


@pytest.fixture
async def client(web_context: WebContext) -> AsyncIterator[TestClient]:
    # No access log, as in production (web/server.py): its lines carry the feed's secret
    # path, and an earlier test may have set the root logger to INFO (configure_logging).
    server = TestServer(create_app(web_context))
    await server.start_server(access_log=None)  # TestServer() itself drops runner options
    async with TestClient(server) as test_client:
        yield test_client


@pytest.fixture
def serve() -> Callable[[WebContext], TestServer]:
    """For tests that need a real address (the browser): a server on a free port."""
    return lambda context: TestServer(create_app(context), host="127.0.0.1")
