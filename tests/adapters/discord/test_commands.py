"""Slash commands end to end: documented interaction payloads -> the real CommandTree ->
the real core -> the interaction callback the fake Discord server receives."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import discord

from adapters.discord.interactions import ADMIN_REFUSAL, DM_ANSWER
from bot.commands import Commands
from bot.models import Actor, ChannelRef
from fakes.discord_api import FakeDiscord
from fakes.discord_interactions import (
    ADMIN,
    CHANNEL_A,
    CHANNEL_B,
    GUILD_A,
    GUILD_B,
    MANAGER,
    MEMBER,
    command,
    dm_command,
    options,
    role,
)
from tests.adapters.discord.conftest import answer_of, answers, invoke

EPHEMERAL = 64


async def add_fam(bot, api: FakeDiscord, guild: str = GUILD_A) -> None:
    show = await answer_of(
        bot,
        api,
        command(
            "episodes-admin show add",
            options(
                title="For All Mankind",
                network="Apple TV+",
                timezone="America/New_York",
                time="21:00",
            ),
            guild=guild,
            permissions=ADMIN,
        ),
    )
    assert "For All Mankind" in show["content"], show
    season = await answer_of(
        bot,
        api,
        command(
            "episodes-admin season add",
            options(
                show="For All Mankind",
                number=4,
                premiere="2023-11-10",
                episodes=10,
                every="friday",
                trailer="https://example.com/fam-s4",
            ),
            guild=guild,
            permissions=ADMIN,
        ),
    )
    assert "Added For All Mankind season 4" in season["content"], season


async def test_admin_adds_fam_s4_and_schedule_lists_ten_fridays(bot, api, core: Commands):
    await add_fam(bot, api)
    answer = await invoke(bot, api, command("episodes schedule", options(show="For All Mankind")))
    content = answer["data"]["content"]
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    # Every reader sees the times in their own zone: Discord stamps, not the show's zone.
    stamps = [int(s) for s in re.findall(r"S4E\d+ +<t:(\d+):F> \(<t:\1:R>\)", content)]
    assert len(stamps) == 10, content
    new_york = ZoneInfo("America/New_York")
    fridays = [datetime.fromtimestamp(stamp, new_york) for stamp in stamps]
    assert fridays[0] == datetime(2023, 11, 10, 21, tzinfo=new_york)
    assert fridays[-1] == datetime(2024, 1, 12, 21, tzinfo=new_york)
    assert all(day.weekday() == 4 and day.hour == 21 for day in fridays)
    assert "EST" not in content


async def test_subscribe_and_unsubscribe(bot, api, core: Commands):
    await add_fam(bot, api)
    answer = await answer_of(
        bot,
        api,
        command(
            "episodes subscribe",
            options(show="For All Mankind", before="1d,1h"),
            permissions=MANAGER,
        ),
    )
    assert "error id" not in answer["content"]
    [sub] = core.store.subscriptions(tenant_key=f"discord:{GUILD_A}")
    assert str(sub.channel) == f"discord:{GUILD_A}/{CHANNEL_A}"
    assert sorted(sub.reminders) == [3600, 86400]

    listed = await invoke(bot, api, command("episodes subscriptions"))
    assert "For All Mankind" in listed["data"]["content"]

    gone = await answer_of(
        bot,
        api,
        command("episodes unsubscribe", options(show="For All Mankind"), permissions=MANAGER),
    )
    assert "Unsubscribed" in gone["content"] and gone["flags"] & EPHEMERAL
    assert core.store.subscriptions(tenant_key=f"discord:{GUILD_A}") == []


async def test_subscribe_with_a_role_to_mention(bot, api, core: Commands):
    await add_fam(bot, api)
    role_id = "900000000000000555"
    payload = command(
        "episodes subscribe",
        [
            {"name": "show", "type": 3, "value": "For All Mankind"},
            {"name": "mention", "type": 8, "value": role_id},
        ],
        permissions=MANAGER,
        resolved={"roles": {role_id: role(role_id)}},
    )
    await invoke(bot, api, payload)
    [sub] = core.store.subscriptions(tenant_key=f"discord:{GUILD_A}")
    assert sub.mention == role_id


async def test_subscribe_needs_the_channel_permission(bot, api, core: Commands):
    await add_fam(bot, api)
    answer = await answer_of(
        bot, api, command("episodes subscribe", options(show="For All Mankind"), permissions=MEMBER)
    )
    assert answer["flags"] & EPHEMERAL
    assert core.store.subscriptions(tenant_key=f"discord:{GUILD_A}") == []


async def test_non_admin_is_refused_and_nothing_changes(bot, api, core: Commands):
    answer = await invoke(
        bot, api, command("episodes-admin show add", options(title="Sneaky"), permissions=MANAGER)
    )
    assert answer["type"] == 4 and api.followups == []  # refused at once, no defer
    assert answer["data"]["content"] == discord.utils.escape_markdown(ADMIN_REFUSAL)
    assert answer["data"]["flags"] & EPHEMERAL
    assert core.complete_show_titles(Actor("discord", GUILD_A, "x"), "", 25) == []


async def test_a_guild_cannot_see_or_touch_another_guilds_private_show(bot, api, core):
    await add_fam(bot, api, guild=GUILD_A)
    other = await invoke(
        bot,
        api,
        command(
            "episodes schedule", options(show="For All Mankind"), guild=GUILD_B, channel=CHANNEL_B
        ),
    )
    assert "No show called" in other["data"]["content"]
    moved = await answer_of(
        bot,
        api,
        command(
            "episodes-admin season move",
            options(show="For All Mankind", number=4, premiere="2024-01-05"),
            guild=GUILD_B,
            channel=CHANNEL_B,
            permissions=ADMIN,
        ),
    )
    assert "No show called" in moved["content"]
    completion = await invoke(
        bot,
        api,
        command(
            "episodes subscribe",
            options(show="For"),
            guild=GUILD_B,
            channel=CHANNEL_B,
            focused="show",
        ),
    )
    assert completion == {"type": 8, "data": {"choices": []}}


async def test_show_autocomplete_returns_at_most_25(bot, api, core: Commands):
    for number in range(30):
        core.show_add(Actor.operator(), f"Show {number:02d}")
    completion = await invoke(
        bot, api, command("episodes subscribe", options(show="Sho"), focused="show")
    )
    assert completion["type"] == 8
    choices = completion["data"]["choices"]
    assert 0 < len(choices) <= 25
    assert all(c["name"].startswith("Show") for c in choices)


async def test_timezone_autocomplete(bot, api):
    completion = await invoke(
        bot,
        api,
        command(
            "episodes-admin show add",
            options(title="X", timezone="new_yo"),
            focused="timezone",
            permissions=ADMIN,
        ),
    )
    names = [c["value"] for c in completion["data"]["choices"]]
    assert "America/New_York" in names and len(names) <= 25


async def test_mention_injection_in_a_show_title_pings_nobody(bot, api, core: Commands):
    title = "@everyone @here <@&900000000000000555> Party"
    await invoke(
        bot, api, command("episodes-admin show add", options(title=title), permissions=ADMIN)
    )
    answer = await invoke(bot, api, command("episodes shows"))
    data = answer["data"]
    assert data["allowed_mentions"] == {"parse": []}
    assert "@everyone" not in data["content"] and "@here" not in data["content"]
    assert "<@&900000000000000555>" not in data["content"]
    assert "Party" in data["content"]


async def test_core_errors_come_back_as_their_message(bot, api):
    answer = await invoke(bot, api, command("episodes schedule", options(show="Nope Nope")))
    assert "No show called" in answer["data"]["content"]
    assert answer["data"]["flags"] & EPHEMERAL
    assert "Traceback" not in answer["data"]["content"]


async def test_dms_get_a_clear_answer(bot, api):
    answer = await invoke(bot, api, dm_command("episodes shows"))
    assert answer["data"]["content"] == discord.utils.escape_markdown(DM_ANSWER)


async def test_unexpected_failure_is_an_apology_with_an_error_id(bot, api, core, caplog):
    core.store.close()  # the database went away under the bot
    answer = await invoke(bot, api, command("episodes shows"))
    content = answer["data"]["content"]
    match = re.search(r"error id ([0-9a-f]{8})", content)
    assert match, content
    assert match[1] in caplog.text
    assert TOKEN_FRAGMENT not in caplog.text


TOKEN_FRAGMENT = "test-bot-token"


async def test_the_everyone_role_cannot_be_the_mention(bot, api, core: Commands):
    await add_fam(bot, api)
    payload = command(
        "episodes subscribe",
        [
            {"name": "show", "type": 3, "value": "For All Mankind"},
            {"name": "mention", "type": 8, "value": GUILD_A},
        ],
        permissions=MANAGER,
        resolved={"roles": {GUILD_A: role(GUILD_A, "@everyone")}},
    )
    answer = await invoke(bot, api, payload)
    assert "not @everyone" in answer["data"]["content"].replace("\u200b", "")
    assert core.store.subscriptions(tenant_key=f"discord:{GUILD_A}") == []


def _subscribe_with_role(role_payload: dict, permissions: int) -> dict:
    return command(
        "episodes subscribe",
        [
            {"name": "show", "type": 3, "value": "For All Mankind"},
            {"name": "mention", "type": 8, "value": role_payload["id"]},
        ],
        permissions=permissions,
        resolved={"roles": {role_payload["id"]: role_payload}},
    )


async def test_a_non_mentionable_role_needs_the_mention_everyone_permission(
    bot, api, core: Commands
):
    await add_fam(bot, api)
    staff = role("900000000000000666", "Staff", mentionable=False)
    answer = await invoke(bot, api, _subscribe_with_role(staff, MANAGER))
    assert answer["type"] == 4  # the adapter's own refusal: answered at once, no defer
    text = answer["data"]["content"].replace("\u200b", "")
    assert "not mentionable" in text and "Staff" in text and "Nothing was changed" in text
    assert answer["data"]["flags"] & EPHEMERAL
    assert answer["data"]["allowed_mentions"] == {"parse": []}
    assert core.store.subscriptions(tenant_key=f"discord:{GUILD_A}") == []


async def test_a_member_who_may_ping_any_role_may_pick_a_non_mentionable_one(
    bot, api, core: Commands
):
    await add_fam(bot, api)
    staff = role("900000000000000666", "Staff", mentionable=False)
    pinger = discord.Permissions(manage_channels=True, mention_everyone=True).value
    await invoke(bot, api, _subscribe_with_role(staff, pinger))
    [sub] = core.store.subscriptions(tenant_key=f"discord:{GUILD_A}")
    assert sub.mention == "900000000000000666"


async def test_everyone_stays_refused_even_with_mention_everyone(bot, api, core: Commands):
    await add_fam(bot, api)
    everyone = role(GUILD_A, "@everyone", mentionable=False)
    pinger = discord.Permissions(manage_channels=True, mention_everyone=True).value
    answer = await invoke(bot, api, _subscribe_with_role(everyone, pinger))
    assert "not @everyone" in answer["data"]["content"].replace("\u200b", "")
    assert core.store.subscriptions(tenant_key=f"discord:{GUILD_A}") == []


# ---- replies within the 3-second deadline: schedule changes defer, reads answer at once ---


def _followup_requests(api: FakeDiscord, payload: dict) -> list:
    return api.requests_to("POST", rf"^/webhooks/{api.application_id}/{payload['token']}$")


async def test_subscribe_defers_then_answers_with_an_ephemeral_followup(bot, api, core):
    await add_fam(bot, api)
    payload = command("episodes subscribe", options(show="For All Mankind"), permissions=MANAGER)
    callback = await invoke(bot, api, payload)
    assert callback == {"type": 5, "data": {"flags": EPHEMERAL}}
    [request] = _followup_requests(api, payload)
    followup = request.json
    assert "For All Mankind" in followup["content"] and "error id" not in followup["content"]
    assert followup["allowed_mentions"] == {"parse": []}
    assert followup["flags"] & EPHEMERAL
    # the defer went out before the core ran and the answer followed it
    paths = [r.path for r in api.requests if r.method == "POST"]
    assert paths.index(f"/interactions/{payload['id']}/{payload['token']}/callback") < (
        paths.index(request.path)
    )
    assert len(core.store.subscriptions(tenant_key=f"discord:{GUILD_A}")) == 1


async def test_an_admin_error_after_the_defer_is_an_ephemeral_followup(bot, api, core):
    payload = command(
        "episodes-admin season add",
        options(show="Nope Nope", number=1, premiere="2023-11-10", episodes=3),
        permissions=ADMIN,
    )
    callback = await invoke(bot, api, payload)
    assert callback["type"] == 5 and callback["data"]["flags"] == EPHEMERAL
    [request] = _followup_requests(api, payload)
    assert "No show called" in request.json["content"]
    assert "Traceback" not in request.json["content"]
    assert request.json["flags"] & EPHEMERAL
    assert request.json["allowed_mentions"] == {"parse": []}


async def test_an_unexpected_failure_after_the_defer_is_an_apology_followup(bot, api, core, caplog):
    core.store.close()
    [message] = await answers(
        bot, api, command("episodes-admin show add", options(title="X"), permissions=ADMIN)
    )
    match = re.search(r"error id ([0-9a-f]{8})", message["content"])
    assert match, message
    assert match[1] in caplog.text
    assert message["flags"] & EPHEMERAL


async def test_read_only_commands_answer_directly(bot, api, core: Commands):
    await add_fam(bot, api)
    before = len(api.followups)
    for path, opts in [
        ("episodes schedule", options(show="For All Mankind")),
        ("episodes next", None),
        ("episodes shows", None),
        ("episodes trailer", options(show="For All Mankind")),
        ("episodes subscriptions", None),
    ]:
        callback = await invoke(bot, api, command(path, opts))
        assert callback["type"] == 4, (path, callback)
        assert callback["data"]["allowed_mentions"] == {"parse": []}
    completion = await invoke(
        bot, api, command("episodes schedule", options(show="For"), focused="show")
    )
    assert completion["type"] == 8
    assert len(api.followups) == before


async def test_a_long_deferred_answer_is_split_into_several_followups(bot, api, core):
    await add_fam(bot, api)
    manager = Actor("discord", GUILD_A, "1", can_manage_channels=True)
    for number in range(30):
        channel = ChannelRef("discord", GUILD_A, str(900000000000001000 + number))
        core.subscribe(manager, channel, "For All Mankind")
    core.store.pause_subscriptions("missing permissions " * 5, tenant_key=f"discord:{GUILD_A}")
    messages = await answers(
        bot,
        api,
        command(
            "episodes-admin season trailer",
            options(show="For All Mankind", number=4, url="https://example.com/fam-s4-final"),
            permissions=ADMIN,
        ),
    )
    assert len(messages) > 1
    for message in messages:
        assert 0 < len(message["content"]) <= 2000
        assert message["flags"] & EPHEMERAL
        assert message["allowed_mentions"] == {"parse": []}
    text = "\n".join(m["content"] for m in messages)
    assert text.count("are paused") == 30


async def test_subscribing_again_keeps_what_is_not_given_and_no_reminder_clears(
    bot, api, core: Commands
):
    await add_fam(bot, api)

    async def subscribe(**values) -> str:
        payload = command(
            "episodes subscribe", options(show="For All Mankind", **values), permissions=MANAGER
        )
        return (await answer_of(bot, api, payload))["content"]

    await subscribe(before="1d,1h", trailers=False)
    assert "Nothing changed" in await subscribe()
    [sub] = core.store.subscriptions(tenant_key=f"discord:{GUILD_A}")
    assert sorted(sub.reminders) == [3600, 86400] and sub.trailers is False
    assert "reminders 1d, 1h -> none" in await subscribe(before="none")
    [sub] = core.store.subscriptions(tenant_key=f"discord:{GUILD_A}")
    assert sub.reminders == () and sub.trailers is False
