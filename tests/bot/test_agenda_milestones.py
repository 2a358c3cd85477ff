"""The neutral milestones (premieres and finales per tenant) that adapters mirror."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.agenda import milestones_by_tenant
from bot.models import Actor, ChannelRef
from bot.store import Store
from tests.conftest import OPERATOR, add_fam

GUILD = "900000000000000001"
NOW = datetime(2023, 10, 1, tzinfo=UTC)


def test_milestones_per_guild_follow_active_subscriptions(commands, store: Store):
    add_fam(commands)
    commands.show_add(OPERATOR, "Silo", network="Apple TV+", tz="America/New_York")
    commands.season_add(OPERATOR, "Silo", 2, premiere="2024-11-15", episodes=10, all_at_once=True)
    channel = ChannelRef("discord", GUILD, "101")
    commands.subscribe(OPERATOR, channel, "For All Mankind")
    commands.subscribe(OPERATOR, channel, "Silo")
    commands.subscribe(OPERATOR, ChannelRef("discord", "2", "201"), "Silo")
    commands.subscribe(OPERATOR, ChannelRef("slack", "T1", "C1"), "For All Mankind")
    store.pause_subscriptions("gone", channel=ChannelRef("discord", "2", "201"))

    found = milestones_by_tenant(store, "discord", NOW)

    assert list(found) == [GUILD]  # the paused guild and Slack are not there
    keys = [(m.object_key, m.kind, m.release_at.isoformat()) for m in found[GUILD]]
    assert keys == [
        ("season:1:premiere", "premiere", "2023-11-10T05:00:00+00:00"),
        ("season:1:finale", "finale", "2024-01-12T05:00:00+00:00"),
        ("season:2:premiere", "premiere", "2024-11-15T05:00:00+00:00"),  # all at once: no finale
    ]
    silo = found[GUILD][2]
    assert (silo.first_episode, silo.last_episode, silo.network) == (1, 10, "Apple TV+")
    # After the premiere only the finale is upcoming; after the finale nothing is.
    later = milestones_by_tenant(store, "discord", datetime(2023, 11, 11, tzinfo=UTC))
    assert [m.kind for m in later[GUILD]][:1] == ["finale"]
    assert milestones_by_tenant(store, "discord", datetime(2025, 1, 1, tzinfo=UTC)) == {}


def test_private_shows_reach_only_their_guild(commands, store: Store):
    admin = Actor("discord", GUILD, "u1", is_admin=True)
    commands.show_add(admin, "Our Show", tz="UTC")
    commands.season_add(admin, "Our Show", 1, premiere="2023-12-01", episodes=2)
    commands.subscribe(admin, ChannelRef("discord", GUILD, "101"), "Our Show")
    assert list(milestones_by_tenant(store, "discord", NOW)) == [GUILD]
