from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.store import Store, open_store
from tests.jobs.support import World, make_world


@pytest.fixture
def store() -> Iterator[Store]:
    store = open_store(":memory:")
    yield store
    store.close()


@pytest.fixture
def world(store: Store) -> World:
    return make_world(store)
