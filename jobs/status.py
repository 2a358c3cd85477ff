"""`episode-bot status`: what the operator needs to know at a glance.

Read from the store only (not from a live scheduler), so the CLI can ask while `run` is
live in another process: the scheduler's jobs mirror `store.upcoming_due_instants`, so the
upcoming instants here are the jobs `run` holds.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

from bot.platforms import platform_names
from bot.store import DELIVERY_LEASE, Store, to_db_time

UPCOMING_LIMIT = 10
FAILURES_LIMIT = 20


def status_report(store: Store, now: datetime, *, upcoming: int = UPCOMING_LIMIT) -> dict:
    """A JSON-able summary: upcoming job instants, outbox by state, failures, last posts."""
    instants = store.upcoming_due_instants(now, limit=upcoming)
    retry_at = _next_retry(store)
    failed = store.outbox(states=["failed"], limit=FAILURES_LIMIT, newest_first=True)
    waiting = store.outbox(states=["pending"], limit=FAILURES_LIMIT, with_error=True)
    shows = {show.id: show.title for show in store.visible_shows(None)}
    paused = store.subscriptions(paused_only=True)
    return {
        "now": to_db_time(now),
        "upcoming_jobs": [
            {"id": "drop:" + to_db_time(instant), "at": to_db_time(instant)} for instant in instants
        ],
        "next_retry_at": to_db_time(retry_at) if retry_at else None,
        "outbox": store.outbox_counts(),
        "failures": [
            {
                "id": row.id,
                "channel": str(row.channel),
                "key": str(row.notification_key),
                "due_at": to_db_time(row.due_at),
                "attempts": row.attempts,
                "reason": row.last_error,
            }
            for row in failed
        ],
        "retrying": [
            {
                "channel": str(row.channel),
                "key": str(row.notification_key),
                "attempts": row.attempts,
                "reason": row.last_error,
            }
            for row in waiting
        ],
        "paused_subscriptions": [
            {
                "channel": str(s.channel),
                "show": shows.get(s.show_id, f"#{s.show_id}"),
                "reason": s.paused_reason,
            }
            for s in paused
        ],
        "last_sent": {
            platform: to_db_time(at)
            for platform, at in sorted(store.last_sent_by_platform().items())
        },
        "delivery_lease": _lease(store),
        # Sent again although the platform could not tell whether an earlier attempt was there
        # (a channel too busy for one page of history): each may show twice.
        "unchecked_resends": store.unchecked_resends(),
    }


def _lease(store: Store) -> dict | None:
    record = store.read_lease(DELIVERY_LEASE)
    if record is None:
        return None
    holder = json.loads(record.holder) if record.holder else {}
    return {
        "generation": record.generation,
        "holder": f"pid {holder['pid']} on {holder['host']}" if holder else None,
        # The holder's wall clock against ours: rough, but it shows a runner that went quiet.
        "heartbeat_age_seconds": round(time.time() - record.heartbeat, 1) if holder else None,
    }


def _next_retry(store: Store) -> datetime | None:
    # Every platform: the CLI does not know which adapters the live `run` process has.
    return store.next_attempt_at(platform_names())


def format_status(report: dict) -> str:
    """The report as a few human-readable sections."""
    lines = [f"Status at {report['now']}"]
    lines.append("")
    lines.append("Upcoming jobs:")
    if report["upcoming_jobs"]:
        lines += [f"  {job['at']}" for job in report["upcoming_jobs"]]
    else:
        lines.append("  none (no episode is scheduled)")
    if report["next_retry_at"]:
        lines.append(f"  next retry at {report['next_retry_at']}")
    lines.append("")
    counts = report["outbox"]
    lines.append("Outbox: " + ", ".join(f"{state} {n}" for state, n in counts.items()))
    lines.append("")
    lines.append("Last successful post:")
    if report["last_sent"]:
        lines += [f"  {platform}: {at}" for platform, at in report["last_sent"].items()]
    else:
        lines.append("  none yet")
    lease = report["delivery_lease"]
    if lease is None or lease["holder"] is None:
        generation = f" (last generation {lease['generation']})" if lease else ""
        lines.append(f"Delivery lease: free{generation}")
    else:
        lines.append(
            f"Delivery lease: generation {lease['generation']}, {lease['holder']}, "
            f"heartbeat {lease['heartbeat_age_seconds']:.0f} s ago"
        )
    if report["unchecked_resends"]:
        lines.append(
            f"Sent again unchecked: {report['unchecked_resends']} (the platform could not tell "
            "whether an earlier attempt got through; each may show twice)"
        )
    lines.append("")
    if report["retrying"]:
        lines.append(f"Waiting for a retry ({len(report['retrying'])} shown):")
        lines += [
            f"  {r['channel']} {r['key']} (attempt {r['attempts']}): {r['reason']}"
            for r in report["retrying"]
        ]
        lines.append("")
    failures = report["failures"]
    paused = report["paused_subscriptions"]
    if not failures and not paused:
        lines.append("Failures: none")
    else:
        lines.append(f"Failures ({len(failures)} most recent):")
        lines += [
            f"  {f['due_at']} {f['channel']} {f['key']}: {f['reason']}" for f in failures
        ] or ["  none"]
        lines.append(f"Paused subscriptions ({len(paused)}):")
        lines += [f"  {p['channel']} ({p['show']}): {p['reason']}" for p in paused] or ["  none"]
    return "\n".join(lines)
