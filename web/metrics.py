"""Prometheus metrics: the `Observer` the engine and the commands report to, plus gauges
read from the store when /metrics is scraped.

Each instance has its own registry (not prometheus-client's global one), so tests and a
second app in one process never see each other's counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.store import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Seconds. Drop latency is expected well under a second; fan-outs take up to minutes.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
FANOUT_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
COMMAND_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """Implements `bot.observer.Observer`; `render()` is the /metrics body."""

    def __init__(self, store: Store, lease_held: Callable[[], bool] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.posts = Counter(
            "episode_bot_posts",
            "Attempts at posting, by platform and outcome (sent, retry, failed, skipped).",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "episode_bot_rate_limited",
            "Posts a platform refused with 429 (rate limited), by platform.",
            ["platform"],
            registry=self.registry,
        )
        self.drop_latency = Histogram(
            "episode_bot_drop_latency_seconds",
            "From a drop's instant to its first accepted post.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.fanout_duration = Histogram(
            "episode_bot_fanout_duration_seconds",
            "Length of a delivery pass that sent posts (planning and sending).",
            buckets=FANOUT_BUCKETS,
            registry=self.registry,
        )
        self.command_duration = Histogram(
            "episode_bot_command_duration_seconds",
            "Time to answer a chat or console command, by command and outcome.",
            ["command", "outcome"],
            buckets=COMMAND_BUCKETS,
            registry=self.registry,
        )
        self.source_sync_errors = Counter(
            "episode_bot_source_sync_errors",
            "Schedule source synchronisations that failed, by source.",
            ["source"],
            registry=self.registry,
        )
        self.registry.register(_StoreGauges(store, lease_held))

    # ------------------------------------------------------------------ Observer

    def post_finished(self, platform: str, outcome: str, *, rate_limited: bool = False) -> None:
        self.posts.labels(platform, outcome).inc()
        if rate_limited:
            self.rate_limited.labels(platform).inc()

    def drop_delivered(self, latency_seconds: float) -> None:
        self.drop_latency.observe(max(0.0, latency_seconds))

    def fanout_finished(self, duration_seconds: float, posts: int) -> None:
        self.fanout_duration.observe(duration_seconds)

    def command_finished(self, command: str, duration_seconds: float, outcome: str) -> None:
        self.command_duration.labels(command, outcome).observe(duration_seconds)

    def source_sync_failed(self, source: str) -> None:
        self.source_sync_errors.labels(source).inc()

    # ------------------------------------------------------------------ exposition

    def render(self) -> bytes:
        """The Prometheus text format; reads the store (call it off the event loop)."""
        return generate_latest(self.registry)


class _StoreGauges(Collector):
    """Values read at scrape time: outbox depth by state and whether we hold the lease."""

    def __init__(self, store: Store, lease_held: Callable[[], bool] | None) -> None:
        self.store = store
        self.lease_held = lease_held

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "episode_bot_outbox_rows", "Outbox rows by state.", labels=["state"]
        )
        for state, count in self.store.outbox_counts().items():
            depth.add_metric([state], count)
        yield depth
        if self.lease_held is not None:
            yield GaugeMetricFamily(
                "episode_bot_delivery_lease_held",
                "1 while this process holds the delivery lease, 0 while it stands by.",
                value=1 if self.lease_held() else 0,
            )
