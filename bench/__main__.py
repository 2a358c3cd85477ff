"""`python -m bench` (`make bench`): fan-out, drop latency and scale figures as a table.

python -m bench                       # everything (a few minutes: the scale data set)
python -m bench --only fanout         # Discord and Slack fan-out
python -m bench --only discord --channels 1000 --rate 100
python -m bench --only slack --slack-channels 1000 --slack-rate 50
python -m bench --only scale --db /tmp/scale.db --keep   # reuse a loaded data set
python -m bench --only fair           # two drops at one instant (5,000 + 5), commands meanwhile
python -m bench --only huge           # 100,000 channels at R = 500 (about 4-5 minutes)
python -m bench --only global --global-sizes 100000,1000000   # planning a global drop
python -m bench --only sources        # 2,000 TVmaze-linked shows, 20 changed
python -m bench --only follows --followers 20000 --follow-channels 5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.fair import FairFigures, run_two_drops
from bench.fanout import FanoutFigures, run_fanout, run_slack_fanout
from bench.follows import FollowFigures, run_follows_fanout
from bench.sources import SourceSyncFigures, run_source_sync

ROOT = Path(__file__).resolve().parents[1]


def _row(name: str, value: str, target: str, ok: bool | None) -> tuple[str, str, str, str]:
    verdict = "" if ok is None else ("ok" if ok else "MISSED")
    return name, value, target, verdict


def fanout_rows(f: FanoutFigures) -> list[tuple[str, ...]]:
    """The same figures for every platform, labelled with it."""
    p = f"{f.platform} fan-out"
    return [
        _row(f"{p} channels / R", f"{f.channels:,} / {f.rate:.0f} req/s", "", None),
        _row(f"{p} wall (instant->last post)", f"{f.wall_s:.2f} s", f"bound {f.bound_s:.2f} s",
             None),
        _row(f"{p} ratio bound/wall", f"{f.ratio:.3f}", ">= 0.9", f.ratio >= 0.9),
        _row(f"{p} duplicates", str(f.duplicates), "0", f.duplicates == 0),
        _row(f"{p} lost", str(f.lost), "0", f.lost == 0),
        _row(f"{p} 429 responses", f"{f.status_429} of {f.requests:,} ({f.pct_429:.2f}%)",
             "<= 1%", f.pct_429 <= 1.0),
        _row(f"{p} drop latency (instant->first post)", f"{f.latency_s * 1000:.0f} ms",
             "<= 1000 ms", f.latency_s <= 1.0),
    ]  # fmt: skip


def follows_rows(f: FollowFigures) -> list[tuple[str, ...]]:
    p = "follows"
    first = f.channels_done_s < f.first_dm_s
    growth = f.rss_at_end_mb - f.rss_at_channels_done_mb
    return [
        _row(f"{p}: channels + followers / R", f"{f.channels:,} + {f.followers:,} / "
             f"{f.rate:.0f} req/s", "", None),
        _row(f"{p}: channel posts done / first DM", f"{f.channels_done_s:.2f} s / "
             f"{f.first_dm_s:.2f} s", "channels first", first),
        _row(f"{p}: DMs (last channel post->last DM)", f"{f.last_dm_s - f.channels_done_s:.2f} s",
             f"bound {f.dm_bound_s:.2f} s", None),
        _row(f"{p}: DM ratio bound/wall", f"{f.dm_ratio:.3f}", ">= 0.9", f.dm_ratio >= 0.9),
        _row(f"{p}: whole drop ratio", f"{f.total_ratio:.3f}", "", None),
        _row(f"{p}: duplicates / lost", f"{f.duplicates} / {f.lost}", "0 / 0",
             f.duplicates == 0 and f.lost == 0),
        _row(f"{p}: 429 responses", f"{f.status_429} of {f.requests:,}", "", None),
        _row(f"{p}: RSS channels done -> last DM", f"{f.rss_at_channels_done_mb:.0f} -> "
             f"{f.rss_at_end_mb:.0f} MB (peak {f.rss_peak_mb:.0f})", "flat (< 20 MB growth)",
             growth < 20),
    ]  # fmt: skip


def _child(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "bench.scale", *args],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def scale_rows(db: Path, reuse: bool) -> list[tuple[str, ...]]:
    loaded = {"load_seconds": 0.0} if reuse and db.exists() else _child("load", str(db))
    # Measuring writes (the watermark, the drop's outbox): work on a copy so --keep reuses
    # a pristine data set.
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "measure.db"
        shutil.copyfile(db, work)
        m = _child("measure", str(work))
    return [
        _row("scale data set", "2,000 shows, 20,000 seasons, 100,000 channels, 1,000,000 subs",
             "", None),
        _row("bulk load (not a target)", f"{loaded['load_seconds']:.1f} s", "", None),
        _row("start-up: migrate + plan + reconcile", f"{m['startup_seconds']:.2f} s", "<= 5 s",
             m["startup_seconds"] <= 5),
        _row("  of which reconcile ({} jobs)".format(m["jobs"]), f"{m['reconcile_seconds']:.2f} s",
             "", None),
        _row("  of which start-up plan", f"{m['startup_plan_seconds']:.2f} s", "", None),
        _row("one drop's outbox ({:,} rows)".format(m["drop_rows"]),
             f"{m['drop_outbox_seconds']:.2f} s", "<= 2 s", m["drop_outbox_seconds"] <= 2),
        _row("drop latency at scale (engine: first post)",
             f"{m['engine_first_post_seconds']:.2f} s", "<= 1 s",
             m["engine_first_post_seconds"] <= 1),
        _row("  whole pass ({:,} posts, null sender)".format(m["engine_sent"]),
             f"{m['engine_pass_seconds']:.2f} s", "", None),
        _row("peak RSS (measuring process)", f"{m['peak_rss_mb']:.0f} MB", "<= 300 MB",
             m["peak_rss_mb"] <= 300),
    ]  # fmt: skip


def fair_rows(f: FairFigures, label: str) -> list[tuple[str, ...]]:
    p = f"{label}: {f.big:,} + {f.small:,} channels at R = {f.rate:.0f}"
    rows = [
        _row(
            f"{p}: small drop's last post",
            f"{f.small_last_s:.2f} s",
            "<= 1 s",
            f.small_last_s <= 1.0,
        ),
        _row(
            f"{p}: big drop ratio (N/R)/wall",
            f"{f.big_ratio:.3f} ({f.big_wall_s:.1f} s)",
            ">= 0.95",
            f.big_ratio >= 0.95,
        ),
        _row(
            f"{p}: 429s per request",
            f"{f.status_429} of {f.requests:,} ({f.pct_429:.2f}%)",
            "<= 0.5%",
            f.pct_429 <= 0.5,
        ),
        _row(
            f"{p}: duplicates / lost",
            f"{f.duplicates} / {f.lost}",
            "0 / 0",
            f.duplicates == 0 and f.lost == 0,
        ),
        _row(f"{p}: peak RSS (the bot; the fake runs apart)", f"{f.peak_rss_mb:.0f} MB", "", None),
    ]
    for name, (p50, p99, count) in f.command_ms.items():
        if count:
            rows.append(
                _row(
                    f"{p}: {name} p50 / p99 ({count})",
                    f"{p50:.0f} / {p99:.0f} ms",
                    "p99 <= 200 ms",
                    p99 <= 200,
                )
            )
    return rows  # fmt: skip


def global_rows(sizes: list[int]) -> list[tuple[str, ...]]:
    """The global drop at each size, and at the first size once more with a role to ping per
    channel (every channel's post differs: the plan must not split them into audiences)."""
    rows = []
    for size, roles in [(size, False) for size in sizes] + [(sizes[0], True)]:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "global.db"
            _child("load-global", str(db), str(size), *(["--role-per-channel"] if roles else []))
            m = _child("measure-global", str(db))
        p = f"global drop, {size:,} subscriptions" + (", a role each" if roles else "")
        rows += [
            _row(f"{p}: first post after the instant", f"{m['first_post_seconds']:.2f} s",
                 "<= 1 s", m["first_post_seconds"] <= 1),
            _row(f"{p}: outbox written", f"{m['outbox_written_seconds']:.2f} s",
                 "<= 2 s" if size <= 100_000 else "", m["outbox_written_seconds"] <= 2
                 if size <= 100_000 else None),
            _row(f"{p}: peak RSS", f"{m['peak_rss_mb']:.0f} MB", "", None),
        ]  # fmt: skip
    return rows


def source_rows(f: SourceSyncFigures) -> list[tuple[str, ...]]:
    return [
        _row("TVmaze sync: linked / changed shows", f"{f.linked:,} / {f.changed}", "", None),
        _row("  requests (updates + changed shows)", f"{f.requests}",
             f"= 1 + {f.changed}", f.requests == 1 + f.changed),
        _row("  shows synced", str(f.synced), str(f.changed), f.synced == f.changed),
        _row("  wall at 20 calls / 10 s", f"{f.wall_s:.2f} s", f"bound {f.bound_s:.1f} s",
             f.wall_s < f.bound_s + 5),
        _row("  429 responses", str(f.status_429), "0", f.status_429 == 0),
        _row("  linking 2,000 shows, no limit (set-up)", f"{f.import_s:.1f} s", "", None),
    ]  # fmt: skip


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("figure", "value", "target", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(line)
    for r in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        if r is header:
            print(line)
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only",
        choices=[
            "fanout", "discord", "slack", "scale", "sources", "fair", "huge", "global", "follows"
        ],
        help="fanout = the Discord and the Slack fan-out; discord / slack = one of them; "
        "huge (only when asked) = the fair fan-out at 100,000 channels",
    )  # fmt: skip
    fair = parser.add_argument_group("fair fan-out (two drops at one instant, Discord)")
    fair.add_argument("--fair-big", type=int, default=5000)
    fair.add_argument("--fair-small", type=int, default=5)
    fair.add_argument("--fair-rate", type=float, default=50.0, help="DISCORD_GLOBAL_RATE")
    fair.add_argument("--latency", type=float, default=0.03, help="fake server, seconds")
    fair.add_argument("--huge-channels", type=int, default=100_000)
    fair.add_argument("--huge-rate", type=float, default=500.0)
    fair.add_argument("--global-sizes", default="100000,1000000",
                      help="subscriptions of the global drop, comma-separated")  # fmt: skip
    discord = parser.add_argument_group("Discord fan-out")
    discord.add_argument("--channels", "--discord-channels", type=int, default=5000)
    discord.add_argument("--rate", "--discord-rate", type=float, default=200.0,
                         help="global limit R, req/s")  # fmt: skip
    discord.add_argument("--concurrency", "--discord-concurrency", type=int, default=50)
    slack = parser.add_argument_group("Slack fan-out")
    slack.add_argument("--slack-channels", type=int, default=1000)
    slack.add_argument("--slack-rate", type=float, default=50.0,
                       help="workspace limit R_slack, chat.postMessage/s")  # fmt: skip
    slack.add_argument("--slack-concurrency", type=int,
                       help="SlackSender max_concurrency (default: the sender's own)")  # fmt: skip
    follows = parser.add_argument_group("follows: one drop to channels and followers' DMs")
    follows.add_argument("--follow-channels", type=int, default=5000)
    follows.add_argument("--followers", type=int, default=20000)
    follows.add_argument("--follow-rate", type=float, default=200.0,
                         help="Discord global limit R, req/s")  # fmt: skip
    scale = parser.add_argument_group("scale")
    scale.add_argument("--db", type=Path, help="scale database file (default: a temp file)")
    scale.add_argument("--keep", action="store_true", help="reuse --db if it exists")
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    if args.only in (None, "fanout", "discord"):
        rows += fanout_rows(asyncio.run(run_fanout(args.channels, args.rate, args.concurrency)))
    if args.only in (None, "fanout", "slack"):
        slack_figures = run_slack_fanout(
            args.slack_channels, args.slack_rate, args.slack_concurrency
        )
        rows += fanout_rows(asyncio.run(slack_figures))
    if args.only in (None, "fair"):
        figures = run_two_drops(args.fair_big, args.fair_small, args.fair_rate,
                                latency=args.latency)  # fmt: skip
        rows += fair_rows(asyncio.run(figures), "fair")
    if args.only == "huge":
        figures = run_two_drops(args.huge_channels, args.fair_small, args.huge_rate,
                                latency=args.latency, concurrency=100)  # fmt: skip
        rows += fair_rows(asyncio.run(figures), "huge")
    if args.only in (None, "global"):
        rows += global_rows([int(size) for size in args.global_sizes.split(",")])
    if args.only in (None, "sources"):
        rows += source_rows(asyncio.run(run_source_sync()))
    if args.only in (None, "follows"):
        figures = run_follows_fanout(args.follow_channels, args.followers, args.follow_rate)
        rows += follows_rows(asyncio.run(figures))
    if args.only in (None, "scale"):
        if args.db:
            rows += scale_rows(args.db, args.keep)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                rows += scale_rows(Path(tmp) / "scale.db", False)
    print_table(rows)


if __name__ == "__main__":
    main()
