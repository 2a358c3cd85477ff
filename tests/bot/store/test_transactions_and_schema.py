"""Any store: a failing multi-row change leaves nothing; the schema is current and stays so."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.errors import AlreadyExists
from bot.store import Store
from tests.bot.store.conftest import NOW, StoreSite, add_season, add_show, notification, subscribe


def _everything(store: Store, show_id: int) -> tuple:
    seasons = store.seasons_of(show_id)
    return (
        seasons,
        store.episodes_by_season([s.id for s in seasons]),
        store.events_between(NOW - timedelta(days=1), NOW + timedelta(days=1)),
        store.audit_log(),
        store.change_counter(),
    )


def test_a_failing_multi_row_change_leaves_nothing(store: Store):
    show = add_show(store)
    add_season(store, show, 2)
    before = _everything(store, show.id)
    with pytest.raises(AlreadyExists):  # the season row clashes after nothing else was kept
        add_season(store, show, 2)
    assert _everything(store, show.id) == before


def test_a_failing_outbox_page_inserts_no_row_and_moves_no_watermark(store: Store):
    subscription = subscribe(store, "console:general", add_show(store))
    good = notification(subscription, "episode:1:release")
    orphan = notification(subscription, "episode:2:release")
    orphan.subscription_id = subscription.id + 1000  # no such subscription
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own integrity error
        store.insert_notifications([good, orphan], NOW, watermarks={"plan": "2"})
    assert store.outbox() == []
    assert store.get_meta("plan") is None


def test_a_fresh_database_gets_the_latest_schema_and_reopening_changes_nothing(site: StoreSite):
    first = site.open()
    assert first.schema_version() == first.latest_schema_version > 0
    show = add_show(first)
    first.close()
    again = site.open()
    assert again.migrate() == 0  # nothing left to apply: a no-op, not an error
    assert again.schema_version() == again.latest_schema_version
    assert again.visible_shows(None) == [show]


def test_every_store_implements_every_protocol(store: Store):
    assert isinstance(store, Store)
