"""The child process of the crash test: one delivery pass through a file-backed "platform".

    python -m tests.jobs.crash_child DB POSTS_FILE AT_ISO BLOCK_AFTER

Each accepted post is appended to POSTS_FILE as "<idempotency key> <channel>" and fsynced
before the send returns, like a platform that has accepted it. With BLOCK_AFTER = N > 0 the
N-th post is written and then never returns (posted, not yet recorded as sent), and every
later send blocks before posting: the parent sees N lines and SIGKILLs the process, so the
kill always lands inside the fan-out with rows claimed, some posted, some not.
Like Slack, a resend is NOT deduplicated by the platform; `find_sent` reads the history.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from bot.clock import FixedClock
from bot.sender import Delivery, SendReceipt
from bot.store import open_store
from jobs.delivery import DeliveryEngine


class FilePlatform:
    platform = "console"
    max_concurrency = 8

    def __init__(self, path: Path, block_after: int) -> None:
        self.path = path
        self.block_after = block_after
        self.posted = 0

    async def send(self, delivery: Delivery) -> SendReceipt:
        if self.block_after and self.posted >= self.block_after:
            await asyncio.Event().wait()  # hangs until the kill
        with self.path.open("a") as posts:
            posts.write(f"{delivery.idempotency_key} {delivery.channel.channel}\n")
            posts.flush()
            os.fsync(posts.fileno())
        self.posted += 1
        if self.block_after and self.posted == self.block_after:
            await asyncio.Event().wait()  # accepted by the platform, never recorded
        return SendReceipt(platform_message_id=delivery.idempotency_key)

    async def find_sent(self, delivery: Delivery) -> SendReceipt | None:
        if not self.path.exists():
            return None
        for line in self.path.read_text().splitlines():
            if line.split(" ", 1)[0] == delivery.idempotency_key:
                return SendReceipt(platform_message_id=delivery.idempotency_key)
        return None


async def run(db: str, posts: str, at: str, block_after: int) -> dict:
    store = open_store(db)
    clock = FixedClock(datetime.fromisoformat(at))
    engine = DeliveryEngine(store, {"console": FilePlatform(Path(posts), block_after)}, clock)
    recovered = await engine.recover()
    result = await engine.run_pass()
    counts = store.outbox_counts()
    store.close()
    return {"recovered": recovered, "sent": result.sent, "outbox": counts}


if __name__ == "__main__":
    db_path, posts_path, instant, block = sys.argv[1:5]
    print(json.dumps(asyncio.run(run(db_path, posts_path, instant, int(block)))), flush=True)
