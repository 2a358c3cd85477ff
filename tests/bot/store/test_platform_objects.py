"""Any store: objects kept on a platform's side, by (platform, tenant, key)."""

from __future__ import annotations

from datetime import timedelta

from bot.store import Store
from tests.bot.store.conftest import NOW

GUILD = "900000000000000001"


def test_platform_objects_are_put_updated_and_deleted(store: Store):
    store.put_platform_object(
        "discord",
        GUILD,
        "season:1:premiere",
        remote_id="11",
        payload_hash="a",
        expires_at=NOW,
        now=NOW,
    )
    store.put_platform_object(
        "discord",
        GUILD,
        "season:1:premiere",
        remote_id="12",
        payload_hash="b",
        expires_at=None,
        now=NOW + timedelta(hours=1),
    )
    [obj] = store.platform_objects("discord")
    assert (obj.remote_id, obj.payload_hash, obj.expires_at) == ("12", "b", None)
    assert obj.updated_at == NOW + timedelta(hours=1)
    assert store.platform_objects("discord", "other") == [] == store.platform_objects("slack")
    assert store.delete_platform_object("discord", GUILD, "season:1:premiere") is True
    assert store.delete_platform_object("discord", GUILD, "season:1:premiere") is False
    assert store.platform_objects("discord") == []
