"""Any store: shows, seasons and episodes, their scope, and the reads planning relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.errors import AlreadyExists
from bot.models import Cadence
from bot.store import Store
from tests.bot.store.conftest import NOW, add_season, add_show, subscribe

FRIDAY = datetime(2025, 1, 17, tzinfo=UTC)
DROPS = [FRIDAY + timedelta(weeks=n) for n in range(3)]


def test_titles_are_unique_per_scope_whatever_the_case(store: Store):
    add_show(store, "Severance")
    with pytest.raises(AlreadyExists):
        add_show(store, "SEVERANCE")
    add_show(store, "Severance", tenant_key="discord:1")  # another scope: fine
    with pytest.raises(AlreadyExists):
        add_show(store, "severance", tenant_key="discord:1")


def test_a_tenant_sees_global_shows_and_its_own_only(store: Store):
    common = add_show(store, "Common")
    ours = add_show(store, "Ours", tenant_key="discord:1")
    theirs = add_show(store, "Theirs", tenant_key="slack:T1")
    assert store.visible_shows("discord:1") == [common, ours]
    assert store.visible_shows("slack:T1") == [common, theirs]
    assert store.visible_shows(None) == [common, ours, theirs]  # the operator sees all
    assert store.get_show(ours.id) == ours
    assert (ours.tenant_key, common.tenant_key, common.is_global) == ("discord:1", None, True)


def test_a_season_comes_with_its_episodes_and_its_announcement(store: Store):
    show = add_show(store)
    season = add_season(store, show, 2, DROPS, trailer_url="https://t.example", title="Two")
    assert store.get_season(show.id, 2) == season
    assert store.get_season(show.id, 3) is None
    assert (season.premiere, season.episode_count, season.cadence) == (
        date(2025, 1, 17),
        3,
        Cadence("weekly", weekday=4),
    )
    assert (season.trailer_url, season.title) == ("https://t.example", "Two")
    episodes = store.episodes_of(season.id)
    assert [(e.number, e.release_at, e.manual) for e in episodes] == [
        (n + 1, drop, False) for n, drop in enumerate(DROPS)
    ]
    [event] = store.events_between(NOW - timedelta(seconds=1), NOW)
    assert (event.season_id, event.kind, event.seq) == (season.id, "announced", 1)
    assert store.last_event_id(until=NOW) == event.id
    assert store.events_after(0, until=NOW) == [event]
    assert store.events_after(event.id, until=NOW) == []


def test_episodes_and_seasons_are_read_in_batches(store: Store):
    show, other = add_show(store, "A"), add_show(store, "B")
    first = add_season(store, show, 1, DROPS)
    second = add_season(store, other, 1, [FRIDAY + timedelta(days=1)])
    found = store.episodes_by_season([second.id, first.id, 999])
    assert [len(found[first.id]), len(found[second.id]), found[999]] == [3, 1, []]
    batch = store.seasons_with_episodes([second.id, first.id, 999])  # id order, gone ones left out
    assert [(s.id, sh.title, len(e)) for sh, s, e in batch] == [
        (first.id, "A", 3),
        (second.id, "B", 1),
    ]
    assert store.seasons_with_episodes([first.id])[0][1] == first


def test_releases_in_a_window_come_with_every_episode_of_their_season(store: Store):
    show = add_show(store)
    season = add_season(store, show, 1, DROPS)
    [(found_show, found, episodes)] = store.releases_between(DROPS[0], DROPS[1])
    assert (found_show, found, len(episodes)) == (show, season, 3)
    assert store.releases_between(DROPS[2], DROPS[2] + timedelta(days=1)) == []
    assert [s.id for _, s, _ in store.seasons_releasing_after([show.id], DROPS[1])] == [season.id]
    assert store.seasons_releasing_after([show.id], DROPS[2]) == []
    assert store.seasons_releasing_after([], NOW) == []


def test_upcoming_instants_hold_releases_and_reminders_once_each(store: Store):
    show = add_show(store)
    add_season(store, show, 1, DROPS)
    subscribe(store, "console:a", show, reminders=[3600])
    subscribe(store, "console:b", show, reminders=[3600])
    instants = store.upcoming_due_instants(DROPS[1])
    assert instants == [DROPS[2] - timedelta(hours=1), DROPS[2]]
    assert store.upcoming_due_instants(NOW, limit=1) == [DROPS[0] - timedelta(hours=1), DROPS[0]]


def test_moving_a_season_moves_its_unreleased_episodes(store: Store):
    show = add_show(store)
    season = add_season(store, show, 1, DROPS)
    episodes = store.episodes_of(season.id)
    week = timedelta(weeks=1)
    moved = store.move_season(
        season,
        premiere=date(2025, 1, 24),
        cadence=season.cadence,
        new_release_at={e.id: e.release_at + week for e in episodes},
        show=show,
        actor="test",
        now=NOW,
    )
    assert moved == 3
    assert [e.release_at for e in store.episodes_of(season.id)] == [d + week for d in DROPS]
    assert store.get_season(show.id, 1).premiere == date(2025, 1, 24)
    kinds = [e.kind for e in store.events_after(0, until=NOW)]
    assert kinds == ["announced", "moved"]


def test_an_episode_set_by_hand_keeps_its_title_and_time(store: Store):
    show = add_show(store)
    season = add_season(store, show, 1, DROPS)
    first = store.episodes_of(season.id)[0]
    store.set_episode(
        first,
        title="Hello",
        release_at=FRIDAY + timedelta(hours=3),
        show=show,
        season=season,
        actor="test",
        now=NOW,
    )
    updated = store.episodes_of(season.id)[0]
    assert (updated.title, updated.release_at, updated.manual) == (
        "Hello",
        FRIDAY + timedelta(hours=3),
        True,
    )


def test_a_trailer_is_kept_and_announced_and_removing_a_season_removes_all_of_it(store: Store):
    show = add_show(store)
    season = add_season(store, show, 1, DROPS)
    store.set_trailer(season, "https://t.example/2", show=show, actor="test", now=NOW)
    assert store.get_season(show.id, 1).trailer_url == "https://t.example/2"
    assert [e.kind for e in store.events_after(0, until=NOW)] == ["announced", "trailer"]
    store.remove_season(season, show=show, actor="test", now=NOW)
    assert store.seasons_of(show.id) == []
    assert store.episodes_of(season.id) == []
    assert store.events_after(0, until=NOW) == []
    assert [entry["action"] for entry in store.audit_log()][:2] == [
        "season remove",
        "season trailer",
    ]
