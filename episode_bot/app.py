"""`episode-bot run`: the composition root that wires store, scheduler, engine and adapters.

Everything runs in one asyncio loop: the APScheduler `AsyncIOScheduler`, the delivery engine
and every adapter whose credentials are set (the local console when none are). A platform's
adapter module is imported only when that platform is configured, so a console-only install
never loads discord.py or slack-bolt code paths.

A runner whose delivery lease was taken over (it was paused past the lease's stale time and
another `run` started) stops delivering at once and exits with code 3 (jobs/lease.py).

Shutdown (SIGINT/SIGTERM): the engine claims nothing new, sends in flight finish, rows it had
claimed but not started go back to pending; a row whose send was cut short stays `sending`
and the next start-up's `recover()` resolves it without a visible duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import aiohttp
import click

from bot.clock import Clock, SystemClock
from bot.commands import Commands
from bot.errors import BotError
from bot.observer import NullObserver, ObservedCommands, Observer
from bot.ratelimit import RateLimiter
from bot.sender import RequestBudget, SendError
from bot.settings import Settings
from bot.store import Store, StoreUnavailable, open_store
from episode_bot.platforms import (
    PLATFORMS,
    Adapter,
    configured_chat_platforms,
    fallback_platform,
    how_to_add_platforms,
)
from episode_bot.sources import build_sources
from jobs.delivery import DeliveryEngine
from jobs.lease import LeaseStanding, RunnerLease, lease_standing
from jobs.scheduler import DropScheduler
from jobs.source_sync import SourceJobs

log = logging.getLogger("episode_bot")

SHUTDOWN_TIMEOUT = 30.0  # seconds to let in-flight sends finish
EXIT_LEASE_LOST = 3  # another runner took the delivery lease over: this one stopped

# ----------------------------------------------------------------------------- pieces


def limiter_for(budget: str, settings: Settings | None = None) -> RateLimiter:
    """Stay under each platform's documented limits rather than bounce off 429s: the limiter
    of a platform's posts (its name), or of one of its other budgets (`SLACK_HISTORY`); each
    platform's entry in episode_bot/platforms.py says how, from the settings."""
    settings = settings or Settings(_env_file=None)  # type: ignore[call-arg]
    return request_budgets(settings)[budget]


def request_budgets(settings: Settings) -> dict[str, RateLimiter]:
    """Every platform's request budgets, by name: shared by the engine's posts and the
    adapter's own requests."""
    budgets: dict[str, RateLimiter] = {}
    for entry in PLATFORMS:
        budgets[entry.name] = entry.limiter(settings)
        budgets.update(entry.other_budgets(settings))
    return budgets


def build_adapters(
    settings: Settings,
    commands: Commands,
    *,
    budgets: Mapping[str, RequestBudget] | None = None,
) -> list[Adapter]:
    """One adapter per configured platform; the console when none is configured.

    `budgets`: the request budgets by name (`request_budgets`); each adapter draws its
    requests from its platform's own (the delivery engine's limiter for that platform)."""
    budgets = budgets or {}
    adapters = [
        entry.adapter(settings, commands, budgets) for entry in configured_chat_platforms(settings)
    ]
    if not adapters:
        log.warning(how_to_add_platforms())
        adapters.append(fallback_platform().adapter(settings, commands, budgets))
    return adapters


def _cli_runner(settings: Settings) -> Callable[[list[str]], int]:
    """Typed console lines run as CLI commands against the bot's own database.

    They run in a worker thread with their own store; the scheduler notices their changes
    through `store.change_counter()` within a poll interval.
    """

    from episode_bot import cli

    commands = cli.prompt_commands()

    def run(args: list[str]) -> int:
        try:
            commands.main(
                args=args,
                prog_name=cli.PROMPT_NAME,
                obj=cli.AppContext(settings),
                standalone_mode=False,
            )
        except SystemExit as done:
            return int(done.code or 0)
        except click.ClickException as error:  # usage errors: message and usage, as the CLI
            error.show()
            return error.exit_code
        except click.Abort:
            print("Aborted.", file=sys.stderr)
            return 1
        except Exception:  # a bug: keep the prompt, but say so with the traceback in the log
            log.exception("console command failed: %s", " ".join(args))
            return 1
        return 0

    return run


class _RedactingFormatter(logging.Formatter):
    """Last line of defence: a secret that reaches a log line, traceback included, is
    replaced before output."""

    def __init__(self, fmt: str, secrets: Sequence[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s and len(s) >= 6]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


def configure_logging(settings: Settings) -> None:
    level = getattr(logging, str(settings.episode_bot_log_level).upper(), logging.INFO)
    line = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=line, force=True)
    secrets = [
        value.get_secret_value()
        for value in (
            settings.discord_token,
            settings.slack_bot_token,
            settings.slack_app_token,
            settings.slack_signing_secret,
            settings.episode_bot_operator_token,
        )
        if value is not None
    ]
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_RedactingFormatter(line, secrets))
    # APScheduler logs every job run at INFO: one line per drop is plenty.
    logging.getLogger("apscheduler").setLevel(max(level, logging.WARNING))


# ----------------------------------------------------------------------------- main


async def main(
    settings: Settings,
    *,
    clock: Clock | None = None,
    stop_event: asyncio.Event | None = None,
    adapters: Sequence[Adapter] | None = None,
) -> int:
    """Run until SIGINT/SIGTERM (or `stop_event`); returns the process exit code.

    `clock`, `stop_event` and `adapters` are for tests; production passes none of them.
    """
    clock = clock or SystemClock()
    stop_event = stop_event or asyncio.Event()
    store = open_store(settings.episode_bot_db)
    holder: dict[str, DropScheduler] = {}

    def on_change() -> None:
        if "scheduler" in holder:
            holder["scheduler"].on_change()
        for adapter in adapters or ():  # adapters mirroring the schedule (Discord events)
            adapter.on_schedule_changed()

    lease = RunnerLease(store, stale_after=settings.episode_bot_lease_seconds)
    # The loss may be noticed in a worker thread (the engine renews the lease off the loop).
    loop = asyncio.get_running_loop()
    lease.on_lost(lambda _reason: loop.call_soon_threadsafe(stop_event.set))
    metrics = _metrics(settings, store, lease)
    observer: Observer = metrics or NullObserver()
    calendar_base_url = settings.public_base_url if settings.web_enabled else None
    core = Commands(store, clock, on_change=on_change, calendar_base_url=calendar_base_url)
    commands: Any = ObservedCommands(core, observer)
    # One limiter per platform, shared by the engine's posts and the adapter's own requests.
    limiters = request_budgets(settings)
    try:
        lease.acquire()  # before anything else: a second engine would race this one
        if adapters is None:
            adapters = build_adapters(settings, commands, budgets=limiters)
        # The engine has its own connection: planning and claiming hold it in worker threads
        # while commands read through theirs (WAL readers never wait for a writer).
        engine_store = store if _in_memory(settings) else open_store(settings.episode_bot_db)
    except BaseException:
        store.close()
        raise
    senders = {adapter.platform: adapter.sender for adapter in adapters}
    engine = DeliveryEngine(
        engine_store,
        senders,
        clock,
        grace=timedelta(hours=settings.episode_bot_grace_hours),
        limiters={platform: limiters[platform] for platform in senders},
        lease=lease,
        observer=observer,
    )
    drop_scheduler = holder["scheduler"] = DropScheduler(store, engine, clock)
    # On the core, not on the timing wrapper (which would keep the attribute to itself): chat
    # admins import and sync through it. The service calls the core's helpers directly, so
    # they are not counted as commands.
    source_service, source_http = build_sources(settings, core, observer=observer)
    core.sources = source_service
    handled = _install_signal_handlers(loop, stop_event)
    started: list[Adapter] = []
    heartbeat = asyncio.create_task(lease.keep_alive(), name="runner-heartbeat")
    web_server = _web_server(settings, store, clock, metrics, lease, source_service.status)
    try:
        if web_server is not None:
            await web_server.start()
        for adapter in adapters:
            await adapter.start()
            started.append(adapter)
            log.info("%s adapter started", adapter.platform)
        await engine.recover()
        drop_scheduler.start()
        SourceJobs(source_service, drop_scheduler.scheduler).start()
        log.info(
            "episode-bot running: %s; %d upcoming job(s); grace window %.0f h",
            ", ".join(sorted(senders)),
            len(drop_scheduler.scheduled_instants()),
            settings.episode_bot_grace_hours,
        )
        await stop_event.wait()
        if lease.lost_reason is not None:
            log.error("another runner delivers now; exiting (%s)", lease.lost_reason)
            return EXIT_LEASE_LOST
        log.info("stopping: letting in-flight posts finish")
        return 0
    finally:
        heartbeat.cancel()
        engine.stop()
        await drop_scheduler.stop(SHUTDOWN_TIMEOUT)
        for adapter in reversed(started):
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping the %s adapter failed", adapter.platform)
        if web_server is not None:
            await web_server.stop()
        await source_http.close()
        for sig in handled:
            loop.remove_signal_handler(sig)
        lease.release()
        if engine_store is not store:
            engine_store.close()
        store.close()


def _in_memory(settings: Settings) -> bool:
    return str(settings.episode_bot_db) == ":memory:"


def _metrics(settings: Settings, store: Store, lease: RunnerLease) -> Any:
    """Prometheus metrics when the web server is on (they are read at /metrics)."""
    if not settings.web_enabled:
        return None
    from web.metrics import Metrics

    return Metrics(
        store,
        lease_held=lambda: (
            lease_standing(store, lease.token, stale_after=lease.stale_after) is LeaseStanding.HELD
        ),
    )


def _web_server(
    settings: Settings,
    store: Store,
    clock: Clock,
    metrics: Any,
    lease: RunnerLease,
    sources_status: Callable[[], list[dict]],
) -> Any:
    """The web front end on EPISODE_BOT_WEB_HOST:PORT, or None when the port is 0."""
    if metrics is None:
        return None
    from web.server import WebContext, WebServer

    token = settings.episode_bot_operator_token
    context = WebContext(
        store=store,
        clock=clock,
        metrics=metrics,
        public_url=settings.public_base_url,
        operator_token=token.get_secret_value() if token is not None else None,
        lease_token=lambda: lease.token,
        lease_stale_after=lease.stale_after,
        sources_status=sources_status,
    )
    return WebServer(context, settings.episode_bot_web_host, settings.episode_bot_web_port)


def _install_signal_handlers(
    loop: asyncio.AbstractEventLoop, stop_event: asyncio.Event
) -> list[signal.Signals]:
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop_event.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError):  # Windows, or not the main thread
            pass
    return handled


def run(settings: Settings, **kwargs: Any) -> int:
    """The sync entry point `episode-bot run` calls.

    A setting that cannot work (a rejected token, an unreachable API base, another `run` on
    the database) ends start-up with one line saying what to mend, and exit code 2.
    """
    configure_logging(settings)
    try:
        return asyncio.run(main(settings, **kwargs))
    except KeyboardInterrupt:
        return 130
    except (BotError, SendError) as error:
        print(f"error: {getattr(error, 'reason', None) or error}", file=sys.stderr)
        return 2
    except StoreUnavailable as error:
        # Start-up could not take the lease: a process holds the database's write lock (a
        # paused `run` mid-transaction keeps it until it resumes or dies), or the disk is full.
        print(f"error: cannot write the database {settings.episode_bot_db} ({error}). Another "
              "process may hold it locked (a stopped episode-bot?), or its disk is full.",
              file=sys.stderr)  # fmt: skip
        return 2
    except (aiohttp.ClientError, OSError) as error:
        print(f"error: cannot reach a platform: {error}. Check the API base settings "
              "and the network.", file=sys.stderr)  # fmt: skip
        return 2
