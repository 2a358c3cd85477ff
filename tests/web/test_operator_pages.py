"""/status behind the operator token, /healthz as load balancers read it, /metrics as
Prometheus parses it."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.clock import FixedClock
from bot.commands import Commands
from bot.models import ChannelRef
from bot.sender import TransientSendError
from bot.store import Store
from jobs.delivery import DeliveryEngine
from jobs.lease import RunnerLease
from tests.conftest import OPERATOR
from tests.jobs.support import FAM_DROPS, FakeSender
from tests.web.conftest import FAM, OPERATOR_TOKEN
from web.server import WebContext, create_app

BEARER = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


# ----------------------------------------------------------------------------- /status


async def test_status_refuses_a_missing_or_wrong_token(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": OPERATOR_TOKEN}):
        response = await client.get("/status", headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert OPERATOR_TOKEN not in await response.text()


async def test_status_shows_what_the_operator_needs(
    client: TestClient, fam: Commands, store: Store, clock: FixedClock
) -> None:
    fam.subscribe(OPERATOR, ChannelRef.parse("console:gone"), FAM)
    clock.set(FAM_DROPS[0])
    failing = FakeSender(
        fail=lambda d: (
            TransientSendError("Slack is having a moment") if d.channel.channel == "gone" else None
        )
    )
    await DeliveryEngine(store, {"console": failing}, clock).run_pass()
    response = await client.get("/status", headers=BEARER)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = await response.text()
    for expected in ("Upcoming jobs", "drop:2023-11-17T05:00:00Z", "Outbox", "Waiting for a retry",
                     "Slack is having a moment", "Paused subscriptions", "Last post per platform",
                     "Schedule sources", "Delivery lease: generation 1, pid"):  # fmt: skip
        assert expected in page
    as_json = await (
        await client.get("/status", headers={**BEARER, "Accept": "application/json"})
    ).json()
    assert as_json["outbox"]["sent"] == 1 and as_json["retrying"][0]["channel"] == "console:gone"
    assert as_json["delivery_lease"]["generation"] == 1 and as_json["unchecked_resends"] == 0


async def test_status_is_off_without_an_operator_token(web_context: WebContext) -> None:
    web_context.operator_token = None
    async with TestClient(TestServer(create_app(web_context))) as client:
        assert (await client.get("/status", headers=BEARER)).status == 404


# ----------------------------------------------------------------------------- /healthz


async def health(web_context: WebContext) -> tuple[int, dict]:
    async with TestClient(TestServer(create_app(web_context))) as client:
        response = await client.get("/healthz")
        return response.status, await response.json()


async def test_healthz_is_200_while_this_process_holds_the_lease(
    web_context: WebContext, store: Store
) -> None:
    lease = RunnerLease(store)
    lease.acquire()
    web_context.lease_token = lambda: lease.token
    status, body = await health(web_context)
    assert status == 200
    assert body == {"status": "ok", "checks": {"loop": "ok", "database": "ok", "lease": "held"}}


async def test_healthz_is_200_while_standing_by_for_another_runner(
    web_context: WebContext, store: Store
) -> None:
    RunnerLease(store).acquire()  # another process delivers
    web_context.lease_token = lambda: RunnerLease(store).token  # ours is a different one
    status, body = await health(web_context)
    assert status == 200 and body["checks"]["lease"] == "standby"


async def test_healthz_is_503_when_nobody_holds_the_lease(web_context: WebContext) -> None:
    status, body = await health(web_context)
    assert status == 503
    assert body["status"] == "unavailable" and body["checks"]["lease"] == "free"


async def test_healthz_is_503_when_the_database_is_unreachable(
    web_context: WebContext, store: Store
) -> None:
    store.close()
    status, body = await health(web_context)
    assert status == 503 and body["checks"]["database"].startswith("unreachable")


# ----------------------------------------------------------------------------- /metrics


async def test_metrics_after_a_delivery_pass(
    client: TestClient, web_context: WebContext, fam: Commands, store: Store, clock: FixedClock
) -> None:
    fam.subscribe(OPERATOR, ChannelRef.parse("console:busy"), FAM)
    clock.set(FAM_DROPS[0] + timedelta(seconds=2))
    sender = FakeSender(
        fail=lambda d: (
            TransientSendError("rate limited", retry_after=3.0)
            if d.channel.channel == "busy"
            else None
        )
    )
    engine = DeliveryEngine(store, {"console": sender}, clock, observer=web_context.metrics)
    await engine.run_pass()
    web_context.metrics.command_finished("schedule", 0.02, "ok")
    web_context.metrics.source_sync_failed("tvmaze")
    response = await client.get("/metrics")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }
    assert samples[("episode_bot_posts_total", (("outcome", "sent"), ("platform", "console")))] == 1
    assert (
        samples[("episode_bot_posts_total", (("outcome", "retry"), ("platform", "console")))] == 1
    )
    assert samples[("episode_bot_rate_limited_total", (("platform", "console"),))] == 1
    assert samples[("episode_bot_outbox_rows", (("state", "sent"),))] == 1
    assert samples[("episode_bot_outbox_rows", (("state", "pending"),))] == 1
    assert samples[("episode_bot_drop_latency_seconds_count", ())] == 1
    assert samples[("episode_bot_drop_latency_seconds_sum", ())] == 2.0  # the clock's 2 s
    assert samples[("episode_bot_fanout_duration_seconds_count", ())] == 1
    command = (("command", "schedule"), ("outcome", "ok"))
    assert samples[("episode_bot_command_duration_seconds_count", command)] == 1
    assert samples[("episode_bot_source_sync_errors_total", (("source", "tvmaze"),))] == 1


async def test_metrics_report_the_lease(store: Store, clock: FixedClock) -> None:
    from web.metrics import Metrics

    held = {"now": True}
    metrics = Metrics(store, lease_held=lambda: held["now"])

    def lease_value() -> float:
        for family in text_string_to_metric_families(metrics.render().decode()):
            if family.name == "episode_bot_delivery_lease_held":
                return family.samples[0].value
        raise AssertionError("no lease metric")

    assert lease_value() == 1
    held["now"] = False
    assert lease_value() == 0


async def test_healthz_judges_the_heartbeat_by_the_configured_lease_time(
    web_context: WebContext, store: Store
) -> None:
    import time

    lease = RunnerLease(store, wall_clock=lambda: time.time() - 60, stale_after=120)
    lease.acquire()  # its last heartbeat reads a minute old
    web_context.lease_token = lambda: lease.token
    web_context.lease_stale_after = 120  # EPISODE_BOT_LEASE_SECONDS=120: still fresh
    assert (await health(web_context))[1]["checks"]["lease"] == "held"
    web_context.lease_stale_after = 30  # a 30 s lease: that runner is gone
    assert (await health(web_context))[0] == 503
