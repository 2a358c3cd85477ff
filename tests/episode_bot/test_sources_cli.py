"""Following TVmaze and calendar feeds through the CLI, end to end.

The real click CLI, a real SQLite file, the real aiohttp client talking HTTP to the local
fake TVmaze (`fakes/tvmaze.py`) and feed server (`fakes/ical_feed.py`). The clock is
injected (the seed's dates are in 2023).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from bot.clock import FixedClock
from bot.settings import Settings
from episode_bot.cli import AppContext, cli
from fakes.ical_feed import FeedFake
from fakes.serving import served_in_thread
from fakes.tvmaze import FAM_ID, TvmazeFake, fam_season_4

FAM = "For All Mankind"
CREDIT = "Data from TVmaze (CC BY-SA): https://www.tvmaze.com/shows/36947/for-all-mankind"
NOV_FRIDAYS = [
    "2023-11-10", "2023-11-17", "2023-11-24", "2023-12-01", "2023-12-08",
    "2023-12-15", "2023-12-22", "2023-12-29", "2024-01-05", "2024-01-12",
]  # fmt: skip
OCT_FRIDAYS = [
    "2023-10-13", "2023-10-20", "2023-10-27", "2023-11-03", "2023-11-10",
    "2023-11-17", "2023-11-24", "2023-12-01", "2023-12-08", "2023-12-15",
]  # fmt: skip


@pytest.fixture
def tvmaze():
    fake = TvmazeFake()
    with served_in_thread(fake.app()) as url:
        fake.base_url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def feeds():
    fake = FeedFake()
    with served_in_thread(fake.app()) as url:
        fake.base_url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2023, 10, 1, tzinfo=UTC))


@pytest.fixture
def run(tmp_path, tvmaze, clock, monkeypatch):
    """`episode-bot ARGS...` on one database, with the injected clock."""
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        episode_bot_db=tmp_path / "bot.db",
        tvmaze_api_base=tvmaze.base_url,
        episode_bot_sources_contact="ops@example.org",
        episode_bot_sources_backoff_seconds=0.01,
        _env_file=None,  # type: ignore[call-arg]
    )

    def invoke(*args: str, ok: bool = True):
        app = AppContext(settings, clock)
        try:
            result = CliRunner().invoke(cli, list(args), obj=app, catch_exceptions=False)
        finally:
            if "store" in app.__dict__:
                app.store.close()
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    return invoke


def schedule(run, show: str = FAM, season: str = "4") -> list[dict]:
    return json.loads(run("schedule", show, "--season", season, "--json").stdout)["episodes"]


def preview(run, start: str = "2023-10-01T00:00:00Z", end: str = "2024-02-01T00:00:00Z"):
    return json.loads(run("preview", "--from", start, "--to", end, "--json").stdout)


def import_fam(run, clock) -> None:
    run("show", "import", "tvmaze:36947", "--tz", "America/New_York")
    clock.advance(timedelta(minutes=1))  # the channel subscribes after the import
    run("subscribe", "console:general", FAM)


def test_the_seeds_move_between_two_syncs_is_posted_once(run, tvmaze, clock):
    imported = run("show", "import", "tvmaze:36947", "--tz", "America/New_York")
    assert "Imported For All Mankind (Apple TV+) from TVmaze (tvmaze:36947)" in imported.stdout
    assert "20 episode(s) have a date only: time estimated as 00:00" in imported.stdout
    # The summary's HTML is gone, its entity decoded.
    assert "had never ended — an alternate history." in imported.stdout
    assert "<" not in imported.stdout and CREDIT in imported.stdout
    first = schedule(run)
    assert [e["airdate"] for e in first] == OCT_FRIDAYS
    assert {(e["airtime"], e["time_estimated"]) for e in first} == {("00:00", True)}
    assert first[0]["airstamp"] == "2023-10-13T04:00:00Z"  # 00:00 EDT, not TVmaze's 00:00 UTC
    assert first[0]["from"] == {"airstamp": "tvmaze", "title": "tvmaze"}
    clock.advance(timedelta(minutes=1))
    run("subscribe", "console:general", FAM, "--before", "1h")

    # TVmaze moves the premiere to November 10th; the bot syncs twice.
    tvmaze.set_episodes(FAM_ID, 4, fam_season_4("2023-11-10"))
    clock.set(datetime(2023, 10, 5, 12, tzinfo=UTC))
    synced = run("sources", "sync", FAM)
    assert "season 4 premiere moved from 2023-10-13 to 2023-11-10" in synced.stdout
    again = run("sources", "sync")
    assert again.stdout.strip() == "For All Mankind: up to date"

    assert [e["airdate"] for e in schedule(run)] == NOV_FRIDAYS
    posts = preview(run)
    moved = [p for p in posts if p["kind"] == "moved"]
    assert len(moved) == 1
    assert moved[0]["title"] == "For All Mankind season 4 has a new date"
    assert moved[0]["message"]["text"] == (
        "The premiere moved from Friday 13 October 2023 to Friday 10 November 2023."
    )
    assert ["Source", CREDIT, False] in moved[0]["message"]["fields"]
    # Nothing is left on October 13th (or any of the old Fridays before November).
    assert not [p for p in posts if p["kind"] != "moved" and p["due_at"] < "2023-11-09"]
    releases = [p for p in posts if p["notification_key"].endswith(":release")]
    assert [p["due_at"][:10] for p in releases] == NOV_FRIDAYS
    assert all(["Source", CREDIT, False] in p["message"]["fields"] for p in releases)

    # Deliver: the "new date" post goes out once, however often the pass runs.
    first_pass = run("deliver", "--now", "2023-10-05T12:00:00Z")
    assert first_pass.stdout.count("has a new date") == 1
    assert run("deliver", "--now", "2023-10-05T12:00:00Z").stdout == ""
    run("sources", "sync")
    assert run("deliver", "--now", "2023-10-05T13:00:00Z").stdout == ""


def test_a_released_drop_is_never_moved_or_posted_again(run, tvmaze, clock):
    import_fam(run, clock)
    tvmaze.set_episodes(FAM_ID, 4, fam_season_4("2023-10-06"))  # moved a week earlier
    clock.set(datetime(2023, 10, 2, tzinfo=UTC))
    run("sources", "sync")
    run("deliver", "--now", "2023-10-02T00:00:00Z")
    delivered = run("deliver", "--now", "2023-10-06T04:00:00Z")
    assert "Season 4 premiere" in delivered.stdout
    # TVmaze goes back to the 13th: the premiere was posted, so it stays where it was.
    tvmaze.set_episodes(FAM_ID, 4, fam_season_4("2023-10-13"))
    clock.set(datetime(2023, 10, 7, tzinfo=UTC))
    run("sources", "sync")
    episodes = schedule(run)
    assert episodes[0]["airdate"] == "2023-10-06"
    assert episodes[1]["airdate"] == "2023-10-20"
    assert "S4E1 is out" not in run("deliver", "--now", "2023-10-13T04:00:00Z").stdout


def test_titles_change_quietly_and_episodes_added_or_removed_update_the_schedule(
    run, tvmaze, clock
):
    import_fam(run, clock)
    episodes = fam_season_4("2023-10-13")
    episodes[1] = {**episodes[1], "name": "Hi Bob (Director's Cut)"}
    extra = {**episodes[-1], "id": 9999001, "number": 11, "name": "Bonus",
             "airdate": "2023-12-22", "airstamp": "2023-12-22T00:00:00+00:00"}  # fmt: skip
    tvmaze.set_episodes(FAM_ID, 4, [*episodes, extra])
    clock.advance(timedelta(days=1))
    synced = run("sources", "sync")
    assert "1 episode(s) added" in synced.stdout and "1 episode(s) retitled" in synced.stdout
    assert [e["title"] for e in schedule(run)][1] == "Hi Bob (Director's Cut)"
    assert len(schedule(run)) == 11
    tvmaze.set_episodes(FAM_ID, 4, episodes[:9])
    clock.advance(timedelta(days=1))
    assert "2 episode(s) removed" in run("sources", "sync").stdout
    assert len(schedule(run)) == 9
    posts = preview(run, "2023-10-01T00:00:00Z", "2023-10-04T00:00:00Z")
    assert posts == []  # no post for titles, additions or removals
    assert "Season finale" in preview(run)[-1]["title"]  # the finale is the new last one


def test_a_new_season_is_announced(run, tvmaze, clock):
    import_fam(run, clock)
    season_5 = [
        {**episode, "id": 2000000 + n, "season": 5, "airdate": day,
         "airstamp": f"{day}T00:00:00+00:00", "name": f"S5 {n}"}
        for n, (episode, day) in enumerate(
            zip(fam_season_4("2024-03-22"), ["2024-03-22", "2024-03-29"], strict=False), 1)
    ]  # fmt: skip
    for episode, number in zip(season_5, (1, 2), strict=True):
        episode["number"] = number
    tvmaze.set_episodes(FAM_ID, 5, season_5)
    clock.advance(timedelta(days=1))
    assert "season 5 added: 2 episode(s) from 2024-03-22" in run("sources", "sync").stdout
    posts = preview(run, "2023-10-01T00:00:00Z", "2023-10-03T00:00:00Z")
    assert [p["title"] for p in posts] == ["For All Mankind season 5 is coming"]


def test_hand_edits_hold_until_released(run, tvmaze, clock):
    import_fam(run, clock)
    run("episode", "set", FAM, "4", "3", "--date", "2023-10-28", "--title", "Goldilocks (ours)")
    tvmaze.set_episodes(FAM_ID, 4, fam_season_4("2023-11-10"))
    clock.advance(timedelta(days=1))
    run("sources", "sync")
    episodes = schedule(run)
    assert episodes[0]["airdate"] == "2023-11-10"  # the source's move applies ...
    assert (episodes[2]["airdate"], episodes[2]["title"]) == ("2023-10-28", "Goldilocks (ours)")
    assert episodes[2]["held"] == ["airstamp", "title"]  # ... but not to the held episode
    assert episodes[2]["from"] == {"airstamp": "admin", "title": "admin"}
    assert "[time estimated; airstamp held; title held]" in run("schedule", FAM).stdout

    released = run("sources", "release", FAM, "--season", "4", "--episode", "3")
    assert "Released 1 hand edit(s) of For All Mankind season 4 episode 3" in released.stdout
    clock.advance(timedelta(days=1))
    run("sources", "sync", FAM)
    episodes = schedule(run)
    assert (episodes[2]["airdate"], episodes[2]["title"]) == ("2023-11-24", "Goldilocks")
    assert episodes[2]["held"] == []


def test_a_season_moved_by_hand_keeps_its_dates_until_released(run, tvmaze, clock):
    import_fam(run, clock)
    run("season", "move", FAM, "4", "--premiere", "2023-11-10")
    tvmaze.set_episodes(FAM_ID, 4, fam_season_4("2023-12-01"))
    clock.advance(timedelta(days=1))
    run("sources", "sync")
    assert schedule(run)[0]["airdate"] == "2023-11-10"
    assert "[dates held: moved by hand]" in run("schedule", FAM).stdout
    run("sources", "release", FAM)
    run("sources", "sync")
    assert schedule(run)[0]["airdate"] == "2023-12-01"


def test_lookup_by_imdb_and_thetvdb_follows_the_301(run, tvmaze):
    assert "Imported Under the Dome (CBS)" in run("show", "import", "imdb:tt1553656").stdout
    assert "GET /lookup/shows?imdb=tt1553656" in tvmaze.requests
    assert "Imported For All Mankind" in run("show", "import", "thetvdb:356202").stdout
    assert run("show", "import", "imdb:tt0000001", ok=False).exit_code == 2


def test_a_broadcast_show_keeps_its_exact_times_in_the_networks_zone(run):
    imported = run("show", "import", "Under the Dome")
    assert "Times are in America/New_York (from the source" in imported.stdout
    episodes = schedule(run, "Under the Dome", "1")
    assert episodes[0]["airstamp"] == "2013-06-25T02:00:00Z"
    assert (episodes[0]["airdate"], episodes[0]["airtime"]) == ("2013-06-24", "22:00")
    assert not any(e["time_estimated"] for e in episodes)


def test_a_title_with_several_matches_lists_them_and_imports_nothing(run, tmp_path):
    result = run("show", "import", "Doctor Who", ok=False)
    assert result.exit_code == 2
    assert "tvmaze:210  Doctor Who (2005), BBC One" in result.stderr
    assert "tvmaze:766  Doctor Who (1963), BBC One" in result.stderr
    assert json.loads(run("show", "list", "--json").stdout) == []


def test_specials_are_left_out_unless_asked_for(run):
    run("show", "import", "tvmaze:210")
    assert [e["title"] for e in schedule(run, "Doctor Who", "13")] == [
        "The Halloween Apocalypse",
        "War of the Sontarans",
    ]


def test_specials_asked_for_are_numbered_after_the_season(run):
    run("show", "import", "tvmaze:210", "--specials")
    titles = [(e["number"], e["title"]) for e in schedule(run, "Doctor Who", "13")]
    assert titles[2:] == [(3, "Doctor Who: Children in Need"), (4, "Eve of the Daleks")]


def test_bad_sources_are_refused_with_a_hint(run):
    for source, message in [
        ("tvmaze:abc", "is not a TVmaze id"),
        ("imdb:12", "is not a valid imdb id"),
        ("ics:ftp://example.org/x.ics", "is not a calendar feed address"),
        ("Nothing Like This", "TVmaze has no show called"),
    ]:
        result = run("show", "import", source, ok=False)
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    run("show", "import", "tvmaze:1")
    duplicate = run("show", "import", "tvmaze:1", ok=False)
    assert "follows tvmaze:1 already" in duplicate.stderr


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (lambda fake: fake.fail(500), "answered 500 after"),
        (lambda fake: fake.malformed.add(FAM_ID), "is not JSON"),
        (lambda fake: fake.emptied.add(FAM_ID), "refusing to delete a whole season"),
    ],
    ids=["500", "malformed", "every-episode-gone"],
)
def test_a_failing_source_changes_nothing_and_says_why(run, tvmaze, clock, break_it, reason):
    import_fam(run, clock)
    before = schedule(run)
    break_it(tvmaze)
    clock.advance(timedelta(hours=1))
    synced = run("sources", "sync")
    assert "sync failed, nothing changed" in synced.stdout and reason in synced.stdout
    assert schedule(run) == before
    status = json.loads(run("sources", "status", "--json").stdout)
    assert status[0]["result"] == "failed" and reason in status[0]["error"]
    assert status[0]["last_ok_at"] == "2023-10-01T00:00:00Z"
    assert "FAILED" in run("sources", "status").stdout
    assert preview(run, "2023-10-01T00:02:00Z", "2023-10-12T00:00:00Z") == []


def test_a_title_taken_already_is_refused_with_a_hint(run):
    run("show", "add", "Under the Dome")
    taken = run("show", "import", "tvmaze:1", ok=False)
    assert 'A show called "Under the Dome" exists already' in taken.stderr
    assert "--show TITLE" in taken.stderr
    assert "Imported UTD (CBS)" in run("show", "import", "tvmaze:1", "--show", "UTD").stdout


def test_429_waits_for_retry_after(run, tvmaze):
    tvmaze.rate_limit, tvmaze.rate_window, tvmaze.retry_after = 1, 1.0, 1
    assert "Imported Under the Dome" in run("show", "import", "imdb:tt1553656").stdout
    assert tvmaze.rate_limited == 1  # the lookup took the only slot; the fetch waited once
    assert tvmaze.user_agents[-1] == "episode-bot/0.1.0 (+ops@example.org)"


def test_a_sonarr_feed_imports_one_series_and_rereads_conditionally(run, feeds, clock):
    url = f"ics:{feeds.base_url}/feed/sonarr.ics"
    several = run("show", "import", url, ok=False)
    assert "The feed holds 2 series: For All Mankind, Slow Horses" in several.stderr
    imported = run("show", "import", url, "--show", FAM, "--tz", "America/New_York")
    assert "10 episode(s)" in imported.stdout
    episodes = schedule(run)
    assert [e["airdate"] for e in episodes] == NOV_FRIDAYS
    assert episodes[0]["title"] == "Glasnost" and not episodes[0]["time_estimated"]
    assert run("sources", "sync").stdout.strip() == "For All Mankind: not modified"
    assert feeds.not_modified == 1 and "If-None-Match" in feeds.requests[-1]
    changed = feeds.feeds["sonarr"].replace(b"4x02 - Hi Bob", b"4x02 - Hello Bob")
    feeds.replace("sonarr", changed)
    assert "1 episode(s) retitled" in run("sources", "sync").stdout
    assert schedule(run)[1]["title"] == "Hello Bob"


def test_a_feed_can_feed_an_existing_show(run, feeds, clock):
    run("show", "add", FAM, "--tz", "America/New_York")
    linked = run("show", "import", f"ics:{feeds.base_url}/feed/weekly.ics", "--show", FAM)
    assert "For All Mankind now follows" in linked.stdout
    assert [e["airdate"] for e in schedule(run)] == NOV_FRIDAYS


def test_a_malformed_feed_imports_nothing(run, feeds):
    result = run("show", "import", f"ics:{feeds.base_url}/feed/malformed.ics", ok=False)
    assert "the feed is not a valid iCalendar file. Nothing was imported." in result.stderr
    assert json.loads(run("show", "list", "--json").stdout) == []


def test_a_feeds_key_is_never_shown_to_members(run, feeds, clock):
    # Sonarr's feed URL carries its API key (`?apikey=`): what members see of the link
    # (`schedule`, text and JSON) names the feed without it.
    url = f"{feeds.base_url}/feed/sonarr.ics?apikey=s3cr3t-sonarr-key"
    imported = run("show", "import", f"ics:{url}", "--show", FAM, "--tz", "America/New_York")
    text = run("schedule", FAM).stdout
    as_json = run("schedule", FAM, "--json").stdout
    for answer in (imported.stdout, text, as_json):
        assert "s3cr3t" not in answer, answer
    assert f"{feeds.base_url}/feed/sonarr.ics" in text
    assert "not modified" in run("sources", "sync").stdout  # the link itself keeps the key
