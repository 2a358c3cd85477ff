"""Delivery rules that keep "exactly once, on time" under awkward timing: a resend that the
platform already has, a drop moved into the part of the window already planned, rows left
pending past the grace window, errors that are not the channel's fault, and two processes
delivering from one database."""

from __future__ import annotations

import json
import os
import socket
from datetime import timedelta

import pytest

from bot.errors import BotError
from bot.sender import PermanentSendError, SenderUnavailableError
from bot.store import DELIVERY_LEASE
from jobs.lease import (
    LeaseStanding,
    RunnerLease,
    lease_standing,
    live_runner,
    refuse_if_running,
)
from tests.jobs.support import (
    FAM,
    FAM_DROPS,
    OPERATOR,
    World,
    claimed_by_a_crashed_runner,
    transient,
)


async def test_a_retry_first_looks_for_the_post_the_failed_attempt_may_have_made(world: World):
    world.add_fam()
    world.subscribe("general")
    calls = []

    def accept_then_fail(delivery):  # the platform takes the post, the answer is lost
        calls.append(delivery)
        if len(calls) == 1:
            world.sender.sent.append(delivery)
            return transient("timeout")
        return None

    world.sender.fail = accept_then_fail
    world.clock.set(FAM_DROPS[0])
    first = await world.engine.run_pass()
    assert (first.sent, first.retrying) == (0, 1)
    world.clock.advance(timedelta(minutes=20))
    second = await world.engine.run_pass()
    assert second.sent == 1
    assert len(world.sender.sent) == 1  # found, not posted again
    assert len(calls) == 1


async def test_an_episode_moved_to_just_before_the_last_pass_is_still_posted(world: World):
    world.add_fam()
    world.subscribe("general")
    world.clock.set(FAM_DROPS[0] - timedelta(days=2))
    await world.engine.run_pass()  # plans up to two days before the premiere
    # The admin moves the premiere to ten minutes ago: a window already planned.
    world.commands.episode_set(OPERATOR, FAM, 4, 1, date="2023-11-07", time="23:50")
    world.clock.set(FAM_DROPS[0] - timedelta(days=2, minutes=-5))
    result = await world.engine.run_pass()
    assert result.sent == 1
    assert "S4E1" in world.sender.sent[0].message.title


async def test_pending_rows_older_than_the_grace_window_are_skipped_not_sent(world: World):
    world.add_fam()
    world.subscribe("general")
    world.sender.fail = lambda _d: transient("503")
    world.clock.set(FAM_DROPS[0])
    await world.engine.run_pass()  # the premiere fails once and waits for a retry
    world.sender.fail = lambda _d: None
    world.clock.set(FAM_DROPS[0] + timedelta(hours=13))  # down for longer than the grace
    result = await world.engine.run_pass()
    assert result.sent == 0
    assert world.store.outbox_counts()["skipped"] == 1
    assert world.store.outbox(states=["skipped"])[0].last_error == (
        "not sent within the grace window"
    )


async def test_a_rejected_token_pauses_nobody_and_retries_later(world: World):
    world.add_fam()
    world.subscribe("a", "b")
    world.sender.fail = lambda _d: SenderUnavailableError("401 Unauthorized")
    world.clock.set(FAM_DROPS[0])
    result = await world.engine.run_pass()
    assert (result.sent, result.retrying, result.failed) == (0, 2, 0)
    assert world.store.subscriptions(paused_only=True) == []
    assert world.engine.next_wakeup() >= FAM_DROPS[0] + timedelta(seconds=900)


async def test_a_payload_the_platform_refuses_fails_the_row_but_pauses_nothing(world: World):
    world.add_fam()
    world.subscribe("a")
    world.sender.fail = lambda _d: PermanentSendError("400 invalid form body", pause=False)
    world.clock.set(FAM_DROPS[0])
    result = await world.engine.run_pass()
    assert result.failed == 1
    assert world.store.subscriptions(paused_only=True) == []


def test_a_live_runner_blocks_a_second_run_and_a_hand_delivery(world: World):
    other = {"host": socket.gethostname(), "pid": os.getppid(), "token": "t1"}
    world.store.take_lease(
        DELIVERY_LEASE, expected_generation=0, holder=json.dumps(other), heartbeat=1e3
    )
    assert live_runner(world.store, wall_clock=lambda: 1010.0).pid == os.getppid()
    with pytest.raises(BotError, match="already delivering from this database"):
        RunnerLease(world.store, wall_clock=lambda: 1010.0).acquire()
    with pytest.raises(BotError, match="this delivery pass would race it"):
        refuse_if_running(world.store, "this delivery pass", wall_clock=lambda: 1010.0)
    # The same process holding the lease is not refused by its own lease only.
    refuse_if_running(world.store, "x", own_token="t1", wall_clock=lambda: 1010.0)
    # Stale after 30 s, and at once when the process is gone.
    assert live_runner(world.store, wall_clock=lambda: 1031.0) is None
    world.store.take_lease(
        DELIVERY_LEASE,
        expected_generation=1,
        holder=json.dumps({**other, "pid": 2**22 + 12345}),
        heartbeat=1e3,
    )
    assert live_runner(world.store, wall_clock=lambda: 1010.0) is None


def test_lease_standing_is_held_standby_or_free(world: World):
    assert lease_standing(world.store, None) is LeaseStanding.FREE
    other = {"host": socket.gethostname(), "pid": os.getppid(), "token": "t1"}
    world.store.take_lease(
        DELIVERY_LEASE, expected_generation=0, holder=json.dumps(other), heartbeat=1e3
    )
    assert lease_standing(world.store, "t1", wall_clock=lambda: 1010.0) is LeaseStanding.HELD
    assert lease_standing(world.store, "t2", wall_clock=lambda: 1010.0) is LeaseStanding.STANDBY
    assert lease_standing(world.store, None, wall_clock=lambda: 1010.0) is LeaseStanding.STANDBY
    assert lease_standing(world.store, "t1", wall_clock=lambda: 1031.0) is LeaseStanding.FREE


def test_taking_the_lease_is_one_compare_and_set(world: World):
    first, second = RunnerLease(world.store), RunnerLease(world.store)
    first.acquire()
    with pytest.raises(BotError):
        second.acquire()
    first.release()
    second.acquire()  # free again
    assert live_runner(world.store).token == second.token


async def test_recovery_waits_when_the_platform_cannot_tell_yet(world: World):
    from bot.sender import TransientSendError
    from jobs.outbox import materialize

    world.add_fam()
    world.subscribe("general")
    world.clock.set(FAM_DROPS[0])
    materialize(world.store, FAM_DROPS[0], timedelta(hours=12))
    (row,) = claimed_by_a_crashed_runner(world.store, FAM_DROPS[0], ["console"])
    world.sender.sent.append(world.engine._delivery(row))  # the platform got it; then a crash

    async def rate_limited(_delivery):
        raise TransientSendError("history rate-limited", retry_after=60)

    real_find = world.sender.find_sent
    world.sender.find_sent = rate_limited  # type: ignore[method-assign]
    assert await world.engine.recover() == 1
    assert world.store.outbox(states=["pending"])[0].attempts == 1  # kept: looks again
    world.sender.find_sent = real_find  # type: ignore[method-assign]
    world.clock.advance(timedelta(seconds=61))
    result = await world.engine.run_pass()
    assert result.sent == 1
    assert len(world.sender.sent) == 1  # found, not posted twice


async def test_a_reminder_held_up_until_its_drop_is_skipped_not_sent(world: World):
    world.add_fam()
    world.subscribe("general", before="1h")
    world.sender.fail = lambda d: transient("503") if d.notification_key.is_reminder else None
    world.clock.set(FAM_DROPS[0] - timedelta(hours=1))
    await world.engine.run_pass()  # the reminder fails and waits for a retry
    world.sender.fail = lambda _d: None
    world.clock.set(FAM_DROPS[0])
    await world.engine.run_pass()
    assert [d.notification_key.is_release for d in world.sender.sent] == [True]
    skipped = world.store.outbox(states=["skipped"])
    assert [r.last_error for r in skipped] == ["the drop has already happened"]


async def test_a_failed_pass_is_tried_again_soon(world: World, monkeypatch):
    world.add_fam()
    world.subscribe("general")

    async def broken():
        raise RuntimeError("database is locked")

    monkeypatch.setattr(world.engine, "run_pass", broken)
    world.clock.set(FAM_DROPS[0])
    await world.scheduler.fire()
    assert "pass:after-failure" in world.job_ids()


async def test_season_events_get_new_ids_after_a_season_is_removed(world: World):
    world.add_fam()
    world.subscribe("general")
    world.clock.advance(timedelta(minutes=1))
    await world.engine.run_pass()  # plans the announcement: event id 1
    world.commands.season_remove(OPERATOR, FAM, 4)
    world.clock.advance(timedelta(minutes=1))
    world.commands.season_add(OPERATOR, FAM, 4, premiere="2023-11-10", episodes=10)
    world.clock.advance(timedelta(minutes=1))
    result = await world.engine.run_pass()
    assert result.sent == 1
    assert world.sender.sent[-1].notification_key.kind == "announced"


async def test_moving_a_season_does_not_repost_a_drop_to_a_channel_that_resubscribed(
    world: World,
):
    from bot.models import ChannelRef

    world.add_fam()
    world.subscribe("general")
    world.clock.set(FAM_DROPS[0])
    await world.engine.run_pass()  # the premiere is posted
    channel = ChannelRef.parse("console:general")
    world.commands.unsubscribe(OPERATOR, channel, FAM)
    world.clock.advance(timedelta(minutes=5))
    world.subscribe("general")
    world.commands.episode_set(OPERATOR, FAM, 4, 10, title="Brazil")
    world.commands.season_move(OPERATOR, FAM, 4, premiere="2023-11-03")  # moves nothing out
    world.clock.advance(timedelta(minutes=5))
    await world.engine.run_pass()
    releases = [d for d in world.sender.sent if d.notification_key.is_release]
    assert len(releases) == 1


async def test_status_shows_posts_waiting_because_the_token_is_refused(world: World):
    from jobs.status import format_status, status_report

    world.add_fam()
    world.subscribe("general")
    world.sender.fail = lambda _d: SenderUnavailableError("401 Unauthorized: set DISCORD_TOKEN")
    world.clock.set(FAM_DROPS[0])
    await world.engine.run_pass()
    report = status_report(world.store, world.clock.now())
    assert report["retrying"] == [
        {
            "channel": "console:general",
            "key": report["retrying"][0]["key"],
            "attempts": 1,
            "reason": "401 Unauthorized: set DISCORD_TOKEN",
        }
    ]
    assert "Waiting for a retry (1 shown):" in format_status(report)


async def test_a_season_move_leaves_posted_drops_where_they_were(world: World):
    world.add_fam()
    world.subscribe("general")
    world.clock.set(FAM_DROPS[0])
    await world.engine.run_pass()  # the premiere is posted
    reply = world.commands.season_move(OPERATOR, FAM, 4, premiere="2023-11-03")
    assert reply.data["moved_episodes"] == 9
    airdates = [e["airdate"] for e in world.commands.schedule(OPERATOR, FAM).data["episodes"]]
    assert airdates[:3] == ["2023-11-10", "2023-11-10", "2023-11-17"]


async def test_a_resend_the_platform_cannot_rule_out_is_counted_in_status(world: World):
    from bot.sender import CannotTellError
    from jobs.status import format_status, status_report

    world.add_fam()
    world.subscribe("busy")
    world.clock.set(FAM_DROPS[0])
    world.sender.fail = lambda _d: transient("timeout")
    await world.engine.run_pass()  # the first attempt's outcome is unknown (a timeout)

    async def too_busy(_delivery):
        raise CannotTellError("100 messages in console:busy since the drop; none is ours")

    world.sender.fail = lambda _d: None
    world.sender.find_sent = too_busy  # type: ignore[method-assign]
    world.clock.set(world.engine.next_wakeup())
    result = await world.engine.run_pass()
    assert result.sent == 1  # sent again: the nonce is all that is left
    report = status_report(world.store, world.clock.now())
    assert report["unchecked_resends"] == 1
    assert report["delivery_lease"]["generation"] == 1
    text = format_status(report)
    assert "Sent again unchecked: 1" in text and "Delivery lease: generation 1" in text
