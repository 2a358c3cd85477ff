"""Any store: meta values, atomic compare-and-set, and the runner lease built on it."""

from __future__ import annotations

import pytest

from bot.store import Store
from jobs.lease import RunnerBusy, RunnerLease
from tests.bot.store.conftest import StoreSite


def test_meta_values_are_set_and_replaced(store: Store):
    assert store.get_meta("k") is None
    store.set_meta("k", "1")
    store.set_meta("k", "2")
    assert store.get_meta("k") == "2"


def test_compare_and_set_succeeds_only_on_the_expected_value(store: Store):
    assert store.compare_and_set_meta("lease", None, "a") is True  # absent: None expected
    assert store.compare_and_set_meta("lease", None, "b") is False
    assert store.compare_and_set_meta("lease", "x", "b") is False
    assert store.get_meta("lease") == "a"
    assert store.compare_and_set_meta("lease", "a", "b") is True
    assert store.get_meta("lease") == "b"


def test_of_two_connections_racing_for_one_value_only_one_wins(site: StoreSite):
    first, second = site.open(), site.open()
    current = first.get_meta("lease")
    outcomes = [
        first.compare_and_set_meta("lease", current, "first"),
        second.compare_and_set_meta("lease", current, "second"),
    ]
    assert outcomes == [True, False]
    assert second.get_meta("lease") == "first"


def test_a_second_runner_on_the_same_database_is_refused(site: StoreSite):
    holder = RunnerLease(site.open(), wall_clock=lambda: 1000.0)
    holder.acquire()
    with pytest.raises(RunnerBusy):
        RunnerLease(site.open(), wall_clock=lambda: 1001.0).acquire()
    holder.release()
    RunnerLease(site.open(), wall_clock=lambda: 1002.0).acquire()  # free again


def test_the_change_counter_moves_with_every_change_to_the_plan(store: Store):
    from tests.bot.store.conftest import add_season, add_show, subscribe

    start = store.change_counter()
    show = add_show(store)
    add_season(store, show)
    subscribe(store, "console:general", show)
    assert store.change_counter() == start + 2  # a show alone plans nothing


def test_a_signed_request_is_new_once_until_it_expires(store: Store):
    from datetime import timedelta

    from tests.bot.store.conftest import NOW

    later = NOW + timedelta(minutes=5)
    assert store.first_sighting("sig-1", now=NOW, keep_until=later) is True
    assert store.first_sighting("sig-1", now=NOW, keep_until=later) is False  # a replay
    after = later + timedelta(seconds=1)
    assert store.first_sighting("sig-1", now=after, keep_until=after + timedelta(minutes=5))


def test_a_stale_generation_changes_no_outbox_row(site: StoreSite):
    """Fencing, for any store: once another runner took the lease, the old generation's
    changes are refused whole (`FencedOut`), and its heartbeat too."""
    from bot.store import DELIVERY_LEASE, FencedOut
    from tests.bot.store.conftest import NOW, add_show, lease, notification, subscribe

    old_runner, new_runner = site.open(), site.open()
    subscription = subscribe(old_runner, "console:general", add_show(old_runner))
    old_runner.insert_notifications([notification(subscription)], NOW)
    old = lease(old_runner)
    [row] = old_runner.claim_due(NOW, platforms=["console"], generation=old)
    new = new_runner.take_lease(DELIVERY_LEASE, expected_generation=old, holder="{}", heartbeat=1)
    assert new == old + 1
    with pytest.raises(FencedOut):
        old_runner.mark_sent(row.id, "m1", NOW, generation=old)
    with pytest.raises(FencedOut):
        old_runner.claim_due(NOW, platforms=["console"], generation=old)
    assert old_runner.renew_lease(DELIVERY_LEASE, generation=old, heartbeat=2) is False
    [adopted] = new_runner.adopt_orphans(platforms=["console"], generation=new)
    new_runner.mark_sent(adopted.id, "m1", NOW, generation=new)
    assert new_runner.outbox_counts()["sent"] == 1
