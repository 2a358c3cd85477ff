"""The SQLite store (`bot.store.Store`): the only place with SQL, and the only place that
knows it is SQLite.

SQLite through sqlite-utils is the zero-setup default. Everything SQLite-specific stays in
this module (`PRAGMA user_version` for the schema version, WAL, `changes()`,
`total_changes`, `lastrowid`, two-argument `MAX`); the protocols in `bot/store/protocols.py`
promise only behaviour (atomic changes, insert-or-ignore, claims, compare-and-set), which
`tests/bot/store/` checks, so a PostgreSQL store can implement them for several processes.

Transactions: every multi-row change runs inside `self._write()`, one `BEGIN IMMEDIATE`
... `COMMIT`. sqlite-utils' own write helpers commit on their own, so inside a transaction
only `_exec` is used; sqlite-utils serves the schema and the read queries.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from bot.errors import AlreadyExists, DatabaseReadOnly, DatabaseUnusable
from bot.keys import KeyKind, NotificationKey
from bot.models import (
    DIRECT_PREFIX,
    Audience,
    Cadence,
    ChannelRef,
    Digest,
    Episode,
    Season,
    Show,
    Subscription,
    UserRef,
)
from bot.sources.base import SourceLink
from bot.sources.rules import CatalogEpisode
from bot.sources.sync import NewSeason, SeasonChanges, SyncChanges
from bot.store.errors import FencedOut, StoreUnavailable
from bot.store.rows import (
    DELIVERY_LEASE,
    OUTBOX_STATES,
    AudiencePage,
    LeaseRecord,
    NewBroadcast,
    NewNotification,
    OutboxRow,
    PlatformObject,
    SeasonEvent,
    from_db_time,
    to_db_time,
)

# ----------------------------------------------------------------------------- schema

MIGRATIONS: tuple[str, ...] = (
    # 1: the initial schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE shows (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        title_key TEXT NOT NULL,            -- casefolded: titles are unique per scope
        network TEXT,
        timezone TEXT NOT NULL,
        release_time TEXT NOT NULL,         -- HH:MM local
        tenant_key TEXT NOT NULL DEFAULT '',-- '' global, else 'discord:<guild>' / 'slack:<team>'
        created_at TEXT NOT NULL,
        UNIQUE (tenant_key, title_key)
    );
    CREATE TABLE seasons (
        id INTEGER PRIMARY KEY,
        show_id INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        premiere TEXT NOT NULL,             -- YYYY-MM-DD local
        episode_count INTEGER NOT NULL,
        cadence_kind TEXT NOT NULL,         -- weekly | all_at_once | dates
        cadence_weekday INTEGER,
        cadence_dates TEXT,                 -- JSON list of YYYY-MM-DD
        premiere_episodes INTEGER NOT NULL DEFAULT 1,
        release_time TEXT NOT NULL,
        timezone TEXT NOT NULL,
        trailer_url TEXT,
        title TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (show_id, number)
    );
    CREATE TABLE episodes (
        id INTEGER PRIMARY KEY,
        season_id INTEGER NOT NULL REFERENCES seasons(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,
        title TEXT,
        release_at TEXT NOT NULL,           -- UTC
        manual INTEGER NOT NULL DEFAULT 0,
        UNIQUE (season_id, number)
    );
    CREATE INDEX episodes_release_at ON episodes (release_at);
    CREATE TABLE season_events (
        -- AUTOINCREMENT: delivery follows events by id, so an id must never come back
        -- after a season (and its events) is removed.
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        season_id INTEGER NOT NULL REFERENCES seasons(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,                 -- announced | trailer | moved
        seq INTEGER NOT NULL,
        created_at TEXT NOT NULL,           -- when it falls due
        detail TEXT NOT NULL DEFAULT '{}',
        UNIQUE (season_id, kind, seq)
    );
    CREATE INDEX season_events_created_at ON season_events (created_at);
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        tenant TEXT NOT NULL,
        channel TEXT NOT NULL,
        show_id INTEGER NOT NULL REFERENCES shows(id) ON DELETE CASCADE,
        reminders TEXT NOT NULL DEFAULT '',  -- seconds before a drop, comma-separated
        trailers INTEGER NOT NULL DEFAULT 1,
        mention TEXT,
        hide_titles INTEGER NOT NULL DEFAULT 0,
        paused_reason TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (platform, tenant, channel, show_id)
    );
    CREATE INDEX subscriptions_show ON subscriptions (show_id);
    -- A drop to 100,000 channels says one thing (or a few variants): each text is stored
    -- once and the outbox rows point at it.
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,        -- sha256 of body
        body TEXT NOT NULL                  -- the neutral Message as JSON
    );
    CREATE TABLE notifications (
        -- AUTOINCREMENT: the id is the post's idempotency key on the platform (Discord
        -- nonce, Slack metadata); a deleted row's id must not be handed out again.
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
        notification_key TEXT NOT NULL,
        season_id INTEGER REFERENCES seasons(id) ON DELETE CASCADE,
        episode_id INTEGER REFERENCES episodes(id) ON DELETE CASCADE,
        platform TEXT NOT NULL,
        due_at TEXT NOT NULL,
        state TEXT NOT NULL,                -- pending | sending | sent | failed | skipped
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        platform_message_id TEXT,
        message_id INTEGER NOT NULL REFERENCES messages(id),  -- what it says, fixed when due
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (subscription_id, notification_key)
    );
    CREATE INDEX notifications_pending ON notifications (state, next_attempt_at);
    CREATE INDEX notifications_season ON notifications (season_id);
    CREATE INDEX notifications_episode ON notifications (episode_id);
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        tenant_key TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # 2: objects the bot keeps on a platform's side (Discord scheduled events), by stable key
    """
    CREATE TABLE platform_objects (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        tenant TEXT NOT NULL,
        object_key TEXT NOT NULL,           -- e.g. season:<id>:premiere
        remote_id TEXT NOT NULL,            -- the platform's id for it
        payload_hash TEXT NOT NULL,         -- what was last sent, to edit only on a change
        expires_at TEXT,                    -- UTC: after it the object is left alone
        updated_at TEXT NOT NULL,
        UNIQUE (platform, tenant, object_key)
    );
    """,
    # 3: planning at scale reads reminder offsets per show on every pass; without this the
    # DISTINCT scans every subscription (0.4 s at 1,000,000 subscriptions).
    """
    CREATE INDEX subscriptions_reminders ON subscriptions (show_id, reminders)
        WHERE reminders != '' AND paused_reason IS NULL;
    """,
    # 4: calendar feeds. A secret token per channel or tenant (`scope`: `discord:1/2`,
    # `discord:1`); rotating replaces the row, so the old token stops working at once. The
    # digest is what requests are looked up by. Each drop's revision (iCalendar SEQUENCE and
    # LAST-MODIFIED) is bumped when what the feed says about it changes, whatever changed it.
    """
    CREATE TABLE calendar_tokens (
        scope TEXT PRIMARY KEY,
        token TEXT NOT NULL,                -- shown again by `calendar url`
        token_digest TEXT NOT NULL UNIQUE,  -- sha256 of token, hex
        created_at TEXT NOT NULL
    );
    CREATE TABLE calendar_revisions (
        episode_id INTEGER PRIMARY KEY REFERENCES episodes(id) ON DELETE CASCADE,
        fingerprint TEXT NOT NULL,          -- sha256 of what the feed says about the drop
        sequence INTEGER NOT NULL,
        modified_at TEXT NOT NULL
    );
    """,
    # 5: follows and weekly digests. A follow is a subscription whose channel is a member's
    # direct messages ('@<user id>', see bot.models.UserRef), so it shares the plan, the
    # outbox and once-only delivery; `followed_in` is the tenant where the member followed.
    # `priority` orders the claim among rows due at the same time: channel posts (0) before
    # direct messages (1).
    """
    ALTER TABLE subscriptions ADD COLUMN followed_in TEXT;
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        tenant TEXT NOT NULL,
        channel TEXT NOT NULL,
        weekday INTEGER NOT NULL,           -- 0 = Monday
        at_time TEXT NOT NULL,              -- HH:MM local
        timezone TEXT NOT NULL,
        only_digest INTEGER NOT NULL DEFAULT 0,  -- 1: no per-drop posts in this channel
        created_at TEXT NOT NULL,
        UNIQUE (platform, tenant, channel)
    );
    ALTER TABLE notifications ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX notifications_claim ON notifications (state, next_attempt_at, priority, id);
    """,
    # 6: schedule sources (TVmaze, iCalendar feeds): where a show comes from, how its last
    # sync went, which records came from the source and which fields an admin holds.
    """
    CREATE TABLE show_sources (
        show_id INTEGER PRIMARY KEY REFERENCES shows(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,                 -- tvmaze | ics
        ref TEXT NOT NULL,                  -- TVmaze show id, or the feed URL
        page_url TEXT,                      -- the show's page at the source (attribution)
        series TEXT,                        -- ics: which series of the feed
        include_specials INTEGER NOT NULL DEFAULT 0,
        summary TEXT,
        etag TEXT,                          -- ics: conditional requests
        last_modified TEXT,
        source_updated INTEGER,             -- TVmaze `updated` at the last good sync
        last_attempt_at TEXT,
        last_ok_at TEXT,
        last_result TEXT,                   -- what the last good sync changed
        last_error TEXT,                    -- why the last attempt failed (NULL: it did not)
        next_sync_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX show_sources_ref ON show_sources (kind, ref);
    ALTER TABLE seasons ADD COLUMN source_id TEXT;
    ALTER TABLE seasons ADD COLUMN premiere_held INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE episodes ADD COLUMN source_id TEXT;
    ALTER TABLE episodes ADD COLUMN time_estimated INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE episodes ADD COLUMN title_held INTEGER NOT NULL DEFAULT 0;
    """,
    # 7: fair fan-out (jobs/fairness.py): each row's tag in its platform's queue; the engine
    # claims due rows by priority, then tag, so drops planned at one instant take turns.
    """
    ALTER TABLE notifications ADD COLUMN queue_rank REAL NOT NULL DEFAULT 0;
    CREATE INDEX notifications_fair ON notifications (state, platform, priority, queue_rank, id);
    """,
    # 8: signed platform requests already served (Slack request signatures), kept for the
    # window in which the platform's timestamp check would still accept them, so that a
    # captured request cannot be replayed, not even right after a restart.
    """
    CREATE TABLE seen_requests (
        request_key TEXT PRIMARY KEY,       -- e.g. slack:<v0 signature>
        expires_at TEXT NOT NULL            -- UTC: afterwards the timestamp check refuses it
    );
    CREATE INDEX seen_requests_expires_at ON seen_requests (expires_at);
    """,
    # 9: fencing. A lease row per named lease (the delivering runner) whose generation grows
    # with every takeover; each outbox row remembers the generation that claimed it, and a
    # runner changes a row only while its generation is current. `unchecked_resend`: the row
    # was sent again after the platform could not tell whether the first attempt got through.
    """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        holder TEXT NOT NULL DEFAULT '',    -- '' once released; else who holds it (JSON)
        heartbeat REAL NOT NULL DEFAULT 0   -- the holder's wall clock, seconds since the epoch
    );
    ALTER TABLE notifications ADD COLUMN claim_generation INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE notifications ADD COLUMN unchecked_resend INTEGER NOT NULL DEFAULT 0;
    DELETE FROM meta WHERE key = 'runner';
    """,
    # 10: notifications_pending (state, next_attempt_at) is a prefix of notifications_claim,
    # which serves the same lookups; each index costs every outbox insert (about 0.1 s of a
    # 100,000-channel drop).
    """
    DROP INDEX IF EXISTS notifications_pending;
    """,
    # 11: a drop is written per audience (a show's subscriptions with the same settings) as
    # one INSERT ... SELECT per page: this finds an audience's members in an id range at once,
    # however many audiences a show has (migration 13 takes the role to ping out of it).
    """
    CREATE INDEX subscriptions_audience ON subscriptions
        (show_id, platform, reminders, trailers, mention, hide_titles)
        WHERE paused_reason IS NULL;
    """,
    # 12: a weekly digest is once per channel and week, whichever of the channel's
    # subscriptions its row rides on. Its key names the channel and the week, so the key
    # alone is unique (of a digest planned twice, the row that was sent, or in flight, is
    # kept, else the first). And when the subscription it rides on is deleted (unsubscribed,
    # its show deleted), the row moves to another subscription of the channel instead of
    # going with it: a re-planned window finds it.
    """
    DELETE FROM notifications WHERE notification_key LIKE 'digest:%' AND id NOT IN (
        SELECT id FROM (
            SELECT id, row_number() OVER (
                PARTITION BY notification_key
                ORDER BY state = 'sent' DESC, state = 'sending' DESC, id
            ) AS kept FROM notifications WHERE notification_key LIKE 'digest:%'
        ) WHERE kept = 1
    );
    CREATE UNIQUE INDEX notifications_digest_once ON notifications (notification_key)
        WHERE notification_key LIKE 'digest:%';
    CREATE TRIGGER subscriptions_keep_digests BEFORE DELETE ON subscriptions
    WHEN EXISTS (SELECT 1 FROM subscriptions AS other WHERE other.platform = OLD.platform
                 AND other.tenant = OLD.tenant AND other.channel = OLD.channel
                 AND other.id != OLD.id)
    BEGIN
        UPDATE notifications SET subscription_id = (
            SELECT other.id FROM subscriptions AS other WHERE other.platform = OLD.platform
            AND other.tenant = OLD.tenant AND other.channel = OLD.channel
            AND other.id != OLD.id ORDER BY other.paused_reason IS NOT NULL, other.id LIMIT 1
        ) WHERE subscription_id = OLD.id AND notification_key LIKE 'digest:%';
    END;
    """,
    # 13: the role a post pings is added when it is sent (`compose.addressed`), so it is no
    # longer part of an audience: the audience index without it (a per-channel role would
    # otherwise split 100,000 channels into 100,000 audiences).
    """
    DROP INDEX subscriptions_audience;
    CREATE INDEX subscriptions_audience ON subscriptions
        (show_id, platform, reminders, trailers, hide_titles)
        WHERE paused_reason IS NULL;
    """,
    # 14: a page's audiences carry their members' ids, which the insert joins on (so a
    # channel changing its settings between the page's read and its write keeps its post):
    # the audience index has nothing left to find.
    """
    DROP INDEX subscriptions_audience;
    """,
)

# An outbox change is applied only while the caller's generation holds the delivery lease.
_FENCE = "EXISTS (SELECT 1 FROM leases WHERE name = ? AND generation = ? AND holder != '')"

# SQLite result codes (low byte) that mean "not now", not "wrong": busy/locked, out of memory,
# read-only, I/O error, disk full, cannot open, lock protocol.
_UNAVAILABLE_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 15})


@contextmanager
def _unavailable_as_store_error() -> Iterator[None]:
    """sqlite3's "not now" errors become `StoreUnavailable`; anything else (a bug) stays."""
    try:
        yield
    except sqlite3.OperationalError as error:
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _UNAVAILABLE_CODES:
            raise StoreUnavailable(str(error)) from error
        raise


# An outbox row with where it goes and what it says.
_OUTBOX_SELECT = (
    "SELECT n.*, s.platform AS sub_platform, s.tenant, s.channel, s.mention, "
    "m.body AS message "
    "FROM notifications n JOIN subscriptions s ON s.id = n.subscription_id "
    "JOIN messages m ON m.id = n.message_id "
)


# SQLite caps the bound parameters of one statement (999 before 3.32): long id lists go in
# chunks.
_CHUNK = 900

# A show with the source it follows, if any (posts credit TVmaze).
_SHOW_SELECT = (
    "SELECT shows.*, src.kind AS source, src.page_url AS source_page FROM shows "
    "LEFT JOIN show_sources src ON src.show_id = shows.id "
)


# sqlite3.connect arguments: autocommit (transactions are explicit), shared by threads.
_CONNECT: dict[str, Any] = {"isolation_level": None, "check_same_thread": False, "timeout": 10.0}
SQLITE_HEADER = b"SQLite format 3\x00"


def _not_a_database(path: str | Path) -> DatabaseUnusable:
    return DatabaseUnusable(
        f"{path} is not an episode-bot database (not SQLite, damaged, or another "
        "program's); nothing was written to it.",
        hint="Check --db / EPISODE_BOT_DB, or move the file away to start afresh.",
    )


def _connect_file(path: Path) -> tuple[sqlite3.Connection, bool]:
    """A connection to the file at `path`, and whether it is read-only for this process.

    Nothing is written here: a file that does not start with SQLite's header is refused
    unopened. Read-only (the file or its directory not writable: WAL needs `-wal`/`-shm`
    beside the file): with no writer's `-wal`/`-shm` present, `immutable` reads the file as
    it is and creates nothing next to it, so no stray files are left owned by this user.
    """
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseUnusable(
            f"Cannot open the database {path}: the directory {folder} does not exist.",
            hint="Create the directory first, or fix --db / EPISODE_BOT_DB.",
        )
    exists = path.exists()
    # Closing any descriptor of the file drops every POSIX lock this process holds on it,
    # SQLite's included: with a connection already open here (`run` opens a second one for
    # the engine), another process could then take the file for unused, checkpoint and
    # delete the WAL under us, and our later commits would land in an unlinked WAL. That
    # file's header was checked when the first connection opened it.
    if exists and not _OPEN_FILES[str(path.resolve())]:
        try:
            with path.open("rb") as file:
                head = file.read(len(SQLITE_HEADER))
        except OSError as error:
            raise DatabaseUnusable(
                f"Cannot read the database {path}: {error.strerror}.",
                hint="Check the file's permissions, or fix --db / EPISODE_BOT_DB.",
            ) from None
        if head and head != SQLITE_HEADER:
            raise _not_a_database(path)
    writable = os.access(folder, os.W_OK) and (not exists or os.access(path, os.W_OK))
    if writable:
        return sqlite3.connect(str(path), **_CONNECT), False
    if not exists:
        raise DatabaseUnusable(
            f"Cannot create the database {path}: the directory {folder} is read-only.",
            hint="Pick a writable directory with --db / EPISODE_BOT_DB.",
        )
    live = any(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    uri = path.resolve().as_uri() + ("?mode=ro" if live else "?mode=ro&immutable=1")
    return sqlite3.connect(uri, uri=True, **_CONNECT), True


# Database files this process holds connections to, by resolved path (see _connect_file).
_OPEN_FILES: Counter[str] = Counter()


class SqliteStore:
    """A SQLite database holding everything; safe to share between threads of one process.

    Implements `bot.store.Store`; open it with `bot.store.open_store`.
    """

    latest_schema_version = len(MIGRATIONS)

    def __init__(
        self, db: sqlite_utils.Database, *, path: str = ":memory:", read_only: bool = False
    ) -> None:
        self.db = db
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._file = None if path == ":memory:" else str(Path(path).resolve())
        if self._file is not None:
            _OPEN_FILES[self._file] += 1

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(cls, path: str | Path) -> SqliteStore:
        """Open and migrate the database at `path` (":memory:" works).

        The file is created if missing, but never a directory: a typo in `--db` must not
        look like an empty database. A file that is not an episode-bot database, or whose
        schema is newer than this code, is refused before anything is written to it. A file
        or directory this process cannot write is opened read-only: reads work, writes raise
        `DatabaseReadOnly`.
        """
        if str(path) == ":memory:":
            conn, read_only = sqlite3.connect(":memory:", **_CONNECT), False
        else:
            conn, read_only = _connect_file(Path(path))
        db = sqlite_utils.Database(conn)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA busy_timeout = 10000")
            version = db.execute("PRAGMA user_version").fetchone()[0]  # reads the header
            # Version 0 with tables in it: another program's SQLite file, not a new one.
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            foreign = version == 0 and tables > 0
        except sqlite3.OperationalError as error:  # e.g. a writer's -shm it cannot read
            conn.close()
            raise DatabaseUnusable(
                f"Cannot open the database {path}: {error}.",
                hint="Check the permissions of the file and of the -wal/-shm files beside it.",
            ) from None
        except sqlite3.DatabaseError:  # "file is not a database", a damaged header
            conn.close()
            raise _not_a_database(path) from None
        if foreign or version > len(MIGRATIONS):
            conn.close()
            if foreign:
                raise _not_a_database(path)
            raise DatabaseUnusable(
                f"The database {path} has schema version {version}; this episode-bot knows "
                f"versions 1 to {len(MIGRATIONS)}. Nothing was changed.",
                hint="Upgrade episode-bot, or point --db / EPISODE_BOT_DB at another file.",
            )
        if not read_only and str(path) != ":memory:":
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; durable at checkpoint
        store = cls(db, path=str(path), read_only=read_only)
        store.migrate()
        return store

    def close(self) -> None:
        # Under the lock: a worker thread mid-query finishes first (closing a connection
        # under a running statement crashes the interpreter); later calls raise cleanly.
        with self._lock:
            self.db.conn.close()
            if self._file is not None and _OPEN_FILES[self._file] > 0:
                _OPEN_FILES[self._file] -= 1
                self._file = None

    def schema_version(self) -> int:
        with self._lock:
            return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        """Apply the migrations this database has not seen yet, in order, each atomically."""
        applied = 0
        with self._lock:
            for version, script in enumerate(MIGRATIONS, start=1):
                if self.schema_version() >= version:
                    continue
                with self._write():
                    # executescript would COMMIT first; run the statements one by one instead.
                    for statement in _split_sql(script):
                        self._exec(statement)
                    self._exec(f"PRAGMA user_version = {version}")
                applied += 1
        return applied

    @contextmanager
    def _write(self) -> Iterator[None]:
        """One transaction; nested calls join the outer one.

        A failed COMMIT (disk full) rolls back too: SQLite may or may not have done so itself,
        and a transaction left open would swallow every later write without committing it.
        """
        with self._lock, _unavailable_as_store_error():
            conn = self.db.conn
            if conn.in_transaction:
                yield
                return
            if self.read_only:
                raise self._read_only_error()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "readonly" in str(error):  # a mode the access check could not see
                    raise self._read_only_error() from None
                raise
            try:
                yield
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _read_only_error(self) -> DatabaseReadOnly:
        return DatabaseReadOnly(
            f"The database {self.path} is read-only for this user: nothing was changed.",
            hint="Run as the user that owns it (reads work as any user), or use a "
            "writable copy with --db.",
        )

    def _exec(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        return self.db.conn.execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict]:
        with self._lock, _unavailable_as_store_error():
            cursor = self.db.conn.execute(sql, params)
            keys = [column[0] for column in cursor.description or ()]
            return [dict(zip(keys, row, strict=True)) for row in cursor]

    def _tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock, _unavailable_as_store_error():
            return self.db.conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", [key])
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._write():
            self._set_meta(key, value)

    def compare_and_set_meta(self, key: str, expected: str | None, value: str) -> bool:
        """Set `key` to `value` only if it still holds `expected` (None: absent), atomically."""
        with self._write():
            row = self._exec("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
            if (row[0] if row else None) != expected:
                return False
            self._set_meta(key, value)
            return True

    def _set_meta(self, key: str, value: str) -> None:
        self._exec("DELETE FROM meta WHERE key = ?", [key])
        self._exec("INSERT INTO meta (key, value) VALUES (?, ?)", [key, value])

    def change_counter(self) -> int:
        """Bumped by every change to the plan; another process polls it to re-plan."""
        return int(self.get_meta("change_counter") or 0)

    def _bump_changes(self) -> None:
        self._exec(
            "UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
            "WHERE key = 'change_counter'"
        )
        if self._exec("SELECT changes()").fetchone()[0] == 0:
            self._exec("INSERT INTO meta (key, value) VALUES ('change_counter', '1')")

    def audit(self, actor: str, tenant_key: str, action: str, detail: dict, at: datetime) -> None:
        self._exec(
            "INSERT INTO audit_log (at, actor, tenant_key, action, detail) VALUES (?, ?, ?, ?, ?)",
            [to_db_time(at), actor, tenant_key, action, json.dumps(detail, sort_keys=True)],
        )

    def audit_log(self, limit: int = 100) -> list[dict]:
        return self._rows("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [limit])

    # ------------------------------------------------------------------ shows

    def add_show(
        self,
        title: str,
        *,
        network: str | None,
        timezone: str,
        release_time: time,
        tenant_key: str | None,
        actor: str,
        now: datetime,
    ) -> Show:
        with self._write():
            try:
                cursor = self._exec(
                    "INSERT INTO shows (title, title_key, network, timezone, release_time, "
                    "tenant_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        title,
                        title.casefold(),
                        network,
                        timezone,
                        release_time.strftime("%H:%M"),
                        tenant_key or "",
                        to_db_time(now),
                    ],
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    f'A show called "{title}" exists already.',
                    hint="Add a season to it with `season add`.",
                ) from None
            self.audit(actor, tenant_key or "", "show add", {"title": title}, now)
            show_id = cursor.lastrowid
        return self.get_show(show_id)

    def get_show(self, show_id: int) -> Show:
        return _show(self._rows(_SHOW_SELECT + "WHERE id = ?", [show_id])[0])

    def visible_shows(self, tenant_key: str | None) -> list[Show]:
        """Global shows plus the tenant's private ones; None (the operator) sees every show."""
        if tenant_key is None:
            rows = self._rows(_SHOW_SELECT + "ORDER BY title_key")
        else:
            rows = self._rows(
                _SHOW_SELECT + "WHERE tenant_key IN ('', ?) ORDER BY title_key",
                [tenant_key],
            )
        return [_show(row) for row in rows]

    # ------------------------------------------------------------------ seasons and episodes

    def add_season(
        self,
        show: Show,
        *,
        number: int,
        premiere: date,
        episode_count: int,
        cadence: Cadence,
        premiere_episodes: int,
        release_time: time,
        timezone: str,
        trailer_url: str | None,
        title: str | None,
        release_instants: Sequence[datetime],
        actor: str,
        now: datetime,
    ) -> Season:
        """Insert a season, its episodes and its "announced" event in one transaction."""
        with self._write():
            try:
                cursor = self._exec(
                    "INSERT INTO seasons (show_id, number, premiere, episode_count, cadence_kind,"
                    " cadence_weekday, cadence_dates, premiere_episodes, release_time, timezone,"
                    " trailer_url, title, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        show.id,
                        number,
                        premiere.isoformat(),
                        episode_count,
                        cadence.kind,
                        cadence.weekday,
                        json.dumps([d.isoformat() for d in cadence.dates]),
                        premiere_episodes,
                        release_time.strftime("%H:%M"),
                        timezone,
                        trailer_url,
                        title,
                        to_db_time(now),
                    ],
                )
            except sqlite3.IntegrityError:
                raise AlreadyExists(
                    f'"{show.title}" already has a season {number}.',
                    hint="Move it with `season move`, or remove it first with `season remove`.",
                ) from None
            season_id = cursor.lastrowid
            self.db.conn.executemany(
                "INSERT INTO episodes (season_id, number, release_at) VALUES (?, ?, ?)",
                [
                    (season_id, index, to_db_time(instant))
                    for index, instant in enumerate(release_instants, start=1)
                ],
            )
            # The announcement carries the trailer link, if any: one post, not two.
            self._add_event(season_id, "announced", now, {})
            self.audit(
                actor,
                show.tenant_key or "",
                "season add",
                {"show": show.title, "season": number, "premiere": premiere.isoformat()},
                now,
            )
            self._bump_changes()
        return self.get_season(show.id, number)  # type: ignore[return-value]

    def get_season(self, show_id: int, number: int) -> Season | None:
        rows = self._rows(
            "SELECT * FROM seasons WHERE show_id = ? AND number = ?", [show_id, number]
        )
        return _season(rows[0]) if rows else None

    def seasons_of(self, show_id: int) -> list[Season]:
        rows = self._rows("SELECT * FROM seasons WHERE show_id = ? ORDER BY number", [show_id])
        return [_season(row) for row in rows]

    def episodes_of(self, season_id: int) -> list[Episode]:
        rows = self._rows("SELECT * FROM episodes WHERE season_id = ? ORDER BY number", [season_id])
        return [_episode(row) for row in rows]

    def move_season(
        self,
        season: Season,
        *,
        premiere: date,
        cadence: Cadence,
        new_release_at: dict[int, datetime],
        show: Show,
        actor: str,
        now: datetime,
    ) -> int:
        """Move a season's premiere and those of the given episodes not yet released, in one
        transaction; returns how many episodes moved.

        "Released" means its drop was posted (or is being posted) to some channel, not that
        its old date has passed: an admin correcting a wrong date after the fact still moves
        the episodes nobody was told of. Notifications of moved episodes that were not sent
        yet are dropped and their reminders forgotten, so the plan schedules them afresh.
        """
        with self._write():
            # Read inside the transaction, so a drop claimed meanwhile is seen as released.
            released = {
                row["release_at"]
                for row in self._rows(
                    "SELECT e.release_at FROM episodes e JOIN notifications n "
                    "ON n.episode_id = e.id WHERE n.season_id = ? "
                    "AND n.notification_key LIKE ? AND n.state IN ('sent', 'sending')",
                    [season.id, NotificationKey.text_pattern(KeyKind.RELEASE)],
                )
            }
            current = {
                row["id"]: row["release_at"]
                for row in self._rows(
                    "SELECT id, release_at FROM episodes WHERE season_id = ?", [season.id]
                )
            }
            new_release_at = {
                episode_id: instant
                for episode_id, instant in new_release_at.items()
                if current.get(episode_id) not in released
            }
            self._exec(
                # Moved by hand: a sync leaves the season's dates alone until released.
                "UPDATE seasons SET premiere = ?, cadence_dates = ?, premiere_held = 1 "
                "WHERE id = ?",
                [
                    premiere.isoformat(),
                    json.dumps([d.isoformat() for d in cadence.dates]),
                    season.id,
                ],
            )
            for episode_id, instant in new_release_at.items():
                self._move_episode(episode_id, instant)
            self._add_event(
                season.id,
                "moved",
                now,
                {"from": season.premiere.isoformat(), "to": premiere.isoformat()},
            )
            self.audit(
                actor,
                show.tenant_key or "",
                "season move",
                {"show": show.title, "season": season.number, "premiere": premiere.isoformat()},
                now,
            )
            self._bump_changes()
            return len(new_release_at)

    def _move_episode(self, episode_id: int, instant: datetime) -> None:
        self._exec(
            "UPDATE episodes SET release_at = ? WHERE id = ?", [to_db_time(instant), episode_id]
        )
        self._exec(
            "DELETE FROM notifications WHERE episode_id = ? AND "
            "(state IN ('pending', 'skipped') OR notification_key LIKE ?)",
            [episode_id, NotificationKey.text_pattern(KeyKind.REMINDER)],
        )

    def set_episode(
        self,
        episode: Episode,
        *,
        title: str | None,
        release_at: datetime | None,
        show: Show,
        season: Season,
        actor: str,
        now: datetime,
    ) -> None:
        with self._write():
            if title is not None:
                self._exec(
                    "UPDATE episodes SET title = ?, title_held = 1 WHERE id = ?",
                    [title, episode.id],
                )
            if release_at is not None:
                self._move_episode(episode.id, release_at)
                self._exec("UPDATE episodes SET manual = 1 WHERE id = ?", [episode.id])
                # Posts nothing itself; tells the next delivery pass to re-plan the season.
                self._add_event(season.id, "rescheduled", now, {"episode": str(episode.number)})
            self.audit(
                actor,
                show.tenant_key or "",
                "episode set",
                {
                    "show": show.title,
                    "season": season.number,
                    "episode": episode.number,
                    "title": title,
                    "release_at": release_at and to_db_time(release_at),
                },
                now,
            )
            self._bump_changes()

    def set_trailer(
        self, season: Season, url: str, *, show: Show, actor: str, now: datetime
    ) -> None:
        with self._write():
            self._exec("UPDATE seasons SET trailer_url = ? WHERE id = ?", [url, season.id])
            self._add_event(season.id, "trailer", now, {"url": url})
            self.audit(
                actor,
                show.tenant_key or "",
                "season trailer",
                {"show": show.title, "season": season.number, "url": url},
                now,
            )
            self._bump_changes()

    def remove_season(self, season: Season, *, show: Show, actor: str, now: datetime) -> None:
        """Delete a season with its episodes, events and every notification about it."""
        with self._write():
            self._exec("DELETE FROM seasons WHERE id = ?", [season.id])
            self.audit(
                actor,
                show.tenant_key or "",
                "season remove",
                {"show": show.title, "season": season.number},
                now,
            )
            self._bump_changes()

    def _add_event(self, season_id: int, kind: str, at: datetime, detail: dict) -> None:
        seq = self._exec(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM season_events WHERE season_id = ? AND kind = ?",
            [season_id, kind],
        ).fetchone()[0]
        self._exec(
            "INSERT INTO season_events (season_id, kind, seq, created_at, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            [season_id, kind, seq, to_db_time(at), json.dumps(detail, sort_keys=True)],
        )

    # ------------------------------------------------------------------ plan inputs

    def releases_between(
        self, start: datetime, end: datetime
    ) -> list[tuple[Show, Season, list[Episode]]]:
        """Seasons with an episode released in (start, end], with ALL their episodes.

        All episodes, not just those in the window, because a post needs to know whether a
        drop is the premiere or the finale.
        """
        rows = self._rows(
            "SELECT DISTINCT season_id FROM episodes WHERE release_at > ? AND release_at <= ?",
            [to_db_time(start), to_db_time(end)],
        )
        return self._seasons_with_episodes([row["season_id"] for row in rows])

    def _seasons_with_episodes(
        self, season_ids: Iterable[int]
    ) -> list[tuple[Show, Season, list[Episode]]]:
        """Three queries (seasons, their shows, their episodes), however many seasons; in the
        order given, without the ones that no longer exist."""
        wanted = list(dict.fromkeys(season_ids))
        seasons = {
            row["id"]: _season(row)
            for row in self._rows_in("SELECT * FROM seasons WHERE id IN ({})", wanted)
        }
        shows = {
            row["id"]: _show(row)
            for row in self._rows_in(
                _SHOW_SELECT + "WHERE shows.id IN ({})",
                sorted({s.show_id for s in seasons.values()}),
            )
        }
        episodes = self.episodes_by_season(list(seasons))
        return [
            (shows[seasons[i].show_id], seasons[i], episodes[i]) for i in wanted if i in seasons
        ]

    def episodes_by_season(self, season_ids: Sequence[int]) -> dict[int, list[Episode]]:
        found: dict[int, list[Episode]] = {season_id: [] for season_id in season_ids}
        for row in self._rows_in(
            "SELECT * FROM episodes WHERE season_id IN ({}) ORDER BY season_id, number",
            list(found),
        ):
            found[row["season_id"]].append(_episode(row))
        return found

    def _rows_in(self, sql: str, ids: Sequence[Any], params: Sequence[Any] = ()) -> list[dict]:
        """`sql` with its `IN ({})` list filled from `ids`, in chunks the driver accepts."""
        rows: list[dict] = []
        for at in range(0, len(ids), _CHUNK):
            chunk = list(ids[at : at + _CHUNK])
            rows += self._rows(sql.format(",".join("?" * len(chunk))), [*chunk, *params])
        return rows

    def seasons_with_episodes(
        self, season_ids: Iterable[int]
    ) -> list[tuple[Show, Season, list[Episode]]]:
        """These seasons (those that still exist), each with its show and all its episodes."""
        return self._seasons_with_episodes(sorted(set(season_ids)))

    def events_after(self, event_id: int, *, until: datetime) -> list[SeasonEvent]:
        """Events with a larger id, in id order, up to the first one stamped after `until`.

        Delivery follows events by id, not by time: an event committed a moment after a pass
        read the table still has a larger id than any the pass saw, so it is never missed.
        """
        rows = self._rows("SELECT * FROM season_events WHERE id > ? ORDER BY id", [event_id])
        events = []
        for row in rows:
            event = _event(row)
            if event.created_at > until:
                break
            events.append(event)
        return events

    def last_event_id(self, *, until: datetime) -> int:
        rows = self._rows(
            "SELECT MAX(id) AS id FROM season_events WHERE created_at <= ?", [to_db_time(until)]
        )
        return rows[0]["id"] or 0

    def events_between(self, start: datetime, end: datetime) -> list[SeasonEvent]:
        rows = self._rows(
            "SELECT * FROM season_events WHERE created_at > ? AND created_at <= ? ORDER BY id",
            [to_db_time(start), to_db_time(end)],
        )
        return [_event(row) for row in rows]

    def upcoming_due_instants(self, after: datetime, limit: int = 1000) -> list[datetime]:
        """The next instants at which something falls due: releases and reminder times.

        One entry per instant, not per subscription: the scheduler holds one job each. When
        there are more than `limit` releases ahead, the answer stops at the last of them, and
        the reminders up to that point are all included (their drops may lie further ahead).
        """
        offsets_by_show = self.reminder_offsets_by_show()
        longest = max((max(o) for o in offsets_by_show.values() if o), default=0)
        first = self._rows(
            "SELECT DISTINCT release_at FROM episodes WHERE release_at > ? "
            "ORDER BY release_at LIMIT ?",
            [to_db_time(after), limit],
        )
        if not first:
            return []
        bound = from_db_time(first[-1]["release_at"]) if len(first) == limit else None
        until = "9999" if bound is None else to_db_time(bound + timedelta(seconds=longest))
        releases = self._rows(
            "SELECT DISTINCT e.release_at, s.show_id FROM episodes e "
            "JOIN seasons s ON s.id = e.season_id WHERE e.release_at > ? AND e.release_at <= ?",
            [to_db_time(after), until],
        )
        instants: set[datetime] = set()
        for row in releases:
            release_at = from_db_time(row["release_at"])
            instants.add(release_at)
            for offset in offsets_by_show.get(row["show_id"], ()):
                instant = release_at - timedelta(seconds=offset)
                if instant > after:
                    instants.add(instant)
        return sorted(i for i in instants if bound is None or i <= bound)

    def seasons_releasing_after(
        self, show_ids: Sequence[int], after: datetime
    ) -> list[tuple[Show, Season, list[Episode]]]:
        """Seasons of these shows with an episode released after `after`, with ALL episodes."""
        rows = self._rows_in(
            "SELECT DISTINCT e.season_id FROM episodes e JOIN seasons s ON s.id = e.season_id "
            "WHERE s.show_id IN ({}) AND e.release_at > ?",
            list(show_ids),
            [to_db_time(after)],
        )
        return self._seasons_with_episodes(sorted(row["season_id"] for row in rows))

    def reminder_offsets_by_show(self) -> dict[int, set[int]]:
        """Reminder offsets (seconds) in use by active subscriptions, per show."""
        offsets_by_show: dict[int, set[int]] = {}
        for row in self._rows(
            "SELECT DISTINCT show_id, reminders FROM subscriptions "
            "WHERE reminders != '' AND paused_reason IS NULL"
        ):
            offsets_by_show.setdefault(row["show_id"], set()).update(
                _parse_reminders(row["reminders"])
            )
        return offsets_by_show

    # ------------------------------------------------------------------ subscriptions

    def subscribe(
        self,
        channel: ChannelRef,
        show: Show,
        *,
        reminders: Sequence[int],
        trailers: bool,
        mention: str | None,
        hide_titles: bool,
        actor: str,
        now: datetime,
    ) -> tuple[Subscription, bool]:
        """Subscribe, or update the options of an existing subscription (and un-pause it).

        Returns the subscription and whether it is new.
        """
        values = [
            _format_reminders(reminders),
            int(trailers),
            mention,
            int(hide_titles),
        ]
        with self._write():
            existing = self._find_subscription(channel, show.id)
            if existing:
                self._exec(
                    "UPDATE subscriptions SET reminders = ?, trailers = ?, mention = ?, "
                    "hide_titles = ?, paused_reason = NULL WHERE id = ?",
                    [*values, existing.id],
                )
            else:
                self._exec(
                    "INSERT INTO subscriptions (platform, tenant, channel, show_id, reminders, "
                    "trailers, mention, hide_titles, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    [
                        channel.platform,
                        channel.tenant,
                        channel.channel,
                        show.id,
                        *values,
                        to_db_time(now),
                    ],
                )
            self.audit(
                actor,
                channel.tenant_key,
                "subscribe",
                {"channel": str(channel), "show": show.title},
                now,
            )
            self._bump_changes()
            subscription = self._find_subscription(channel, show.id)
        assert subscription is not None
        return subscription, existing is None

    def unsubscribe(self, channel: ChannelRef, show: Show, *, actor: str, now: datetime) -> bool:
        with self._write():
            cursor = self._exec(
                "DELETE FROM subscriptions WHERE platform = ? AND tenant = ? AND channel = ? "
                "AND show_id = ?",
                [channel.platform, channel.tenant, channel.channel, show.id],
            )
            if cursor.rowcount:
                self.audit(
                    actor,
                    channel.tenant_key,
                    "unsubscribe",
                    {"channel": str(channel), "show": show.title},
                    now,
                )
                self._bump_changes()
            return cursor.rowcount > 0

    def _find_subscription(self, channel: ChannelRef, show_id: int) -> Subscription | None:
        rows = self._tuples(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions "
            "WHERE platform = ? AND tenant = ? AND channel = ? "
            "AND show_id = ?",
            [channel.platform, channel.tenant, channel.channel, show_id],
        )
        return _subscription(rows[0]) if rows else None

    def subscriptions(
        self,
        *,
        channel: ChannelRef | None = None,
        tenant_key: str | None = None,
        show_ids: Sequence[int] | None = None,
        active_only: bool = False,
        paused_only: bool = False,
        direct: bool | None = False,
    ) -> list[Subscription]:
        """Channel subscriptions by default; `direct=True`: follows (a member's DMs), which
        only that member and the operator may see; None: both."""
        if show_ids is not None and not show_ids:
            return []
        where, params = _subscription_filter(
            channel=channel,
            tenant_key=tenant_key,
            show_ids=show_ids,
            paused=True if paused_only else False if active_only else None,
            direct=direct if channel is None else None,
        )
        rows = self._tuples(
            f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE {where} "
            "ORDER BY platform, tenant, channel, id",
            params,
        )
        return [_subscription(row) for row in rows]

    def audience_pages(
        self,
        *,
        show_ids: Sequence[int],
        page_size: int,
        direct: bool,
        with_reminders_only: bool = False,
    ) -> Iterator[AudiencePage]:
        """The active subscriptions of these shows, `page_size` at a time, as audiences.

        One query per page (keyset on (show_id, id), the order of `subscriptions_show`, and
        grouped in SQL), so memory stays flat however many there are and no lock is held
        between pages.
        """
        kind = _DIRECT_CLAUSE if direct else f"NOT {_DIRECT_CLAUSE}"
        if with_reminders_only:  # the partial index subscriptions_reminders finds them
            kind += " AND reminders != ''"
        # Show by show, each read as an id range of `subscriptions_show`: one ordered query
        # over several shows would sort or rescan them at every page.
        members_of_show = (
            "SELECT show_id, platform, reminders, trailers, hide_titles, "
            f"{_DIGEST_ONLY}, json_group_array(id), MAX(id) FROM (SELECT id, show_id, "
            "platform, tenant, channel, reminders, trailers, hide_titles FROM subscriptions "
            f"WHERE show_id = ? AND id > ? AND paused_reason IS NULL AND {kind} "
            "ORDER BY id LIMIT ?) AS s GROUP BY 1, 2, 3, 4, 5, 6"
        )
        shows = sorted(set(show_ids))
        after = (0, 0)
        while True:
            audiences: dict[Audience, tuple[int, ...]] = {}
            last = after
            room = page_size
            for show_id in shows[bisect.bisect_left(shows, after[0]) :]:
                rows = self._tuples(
                    members_of_show, [show_id, after[1] if show_id == after[0] else 0, room]
                )
                for (show, platform, reminders, trailers, hide_titles, digest_only, members,
                     last_id) in rows:  # fmt: skip
                    audience = Audience(show, platform, direct, _parse_reminders(reminders),
                                        bool(trailers), bool(hide_titles),
                                        bool(digest_only))  # fmt: skip
                    ids = tuple(sorted(json.loads(members)))
                    # Stored reminder texts that read the same (hand-edited) are one audience.
                    audiences[audience] = tuple(sorted(audiences.get(audience, ()) + ids))
                    room -= len(ids)
                    last = max(last, (show, last_id))
                if room == 0:
                    break
            if not audiences:
                return
            yield AudiencePage(after, last, audiences)
            after = last

    def subscribed_show_ids_by_tenant(self, platform: str) -> dict[str, set[int]]:
        """Per tenant of `platform`, the shows its channels follow (active subscriptions)."""
        result: dict[str, set[int]] = {}
        for row in self._rows(
            "SELECT DISTINCT tenant, show_id FROM subscriptions "
            f"WHERE platform = ? AND paused_reason IS NULL AND NOT {_DIRECT_CLAUSE} "
            "ORDER BY tenant, show_id",
            [platform],
        ):
            result.setdefault(row["tenant"], set()).add(row["show_id"])
        return result

    def pause_subscriptions(
        self,
        reason: str,
        *,
        subscription_id: int | None = None,
        channel: ChannelRef | None = None,
        tenant_key: str | None = None,
    ) -> int:
        """Stop posting to a subscription (or a whole channel or tenant) until re-subscribed.

        Its pending posts are skipped: resuming later must not post them late.
        """
        where, params = _subscription_filter(
            subscription_id=subscription_id, channel=channel, tenant_key=tenant_key, paused=False
        )
        with self._write():
            self._exec(
                "UPDATE notifications SET state = 'skipped', last_error = ? "
                "WHERE state = 'pending' AND subscription_id IN "
                f"(SELECT id FROM subscriptions WHERE {where})",
                [f"subscription paused: {reason}", *params],
            )
            cursor = self._exec(
                f"UPDATE subscriptions SET paused_reason = ? WHERE {where}", [reason, *params]
            )
            if cursor.rowcount:
                self._bump_changes()
            return cursor.rowcount

    # ------------------------------------------------------------------ platform objects

    def platform_objects(self, platform: str, tenant: str | None = None) -> list[PlatformObject]:
        """What the bot keeps on `platform` (in one tenant, or in all of them)."""
        if tenant is None:
            rows = self._rows(
                "SELECT * FROM platform_objects WHERE platform = ? ORDER BY tenant, object_key",
                [platform],
            )
        else:
            rows = self._rows(
                "SELECT * FROM platform_objects WHERE platform = ? AND tenant = ? "
                "ORDER BY object_key",
                [platform, tenant],
            )
        return [_platform_object(row) for row in rows]

    def platform_object(self, platform: str, tenant: str, object_key: str) -> PlatformObject | None:
        rows = self._rows(
            "SELECT * FROM platform_objects WHERE platform = ? AND tenant = ? AND object_key = ?",
            [platform, tenant, object_key],
        )
        return _platform_object(rows[0]) if rows else None

    def put_platform_object(
        self,
        platform: str,
        tenant: str,
        object_key: str,
        *,
        remote_id: str,
        payload_hash: str,
        expires_at: datetime | None,
        now: datetime,
    ) -> None:
        """Record (or update) one platform-side object under its stable key."""
        values = [
            remote_id,
            payload_hash,
            expires_at and to_db_time(expires_at),
            to_db_time(now),
        ]
        with self._write():
            cursor = self._exec(
                "UPDATE platform_objects SET remote_id = ?, payload_hash = ?, expires_at = ?, "
                "updated_at = ? WHERE platform = ? AND tenant = ? AND object_key = ?",
                [*values, platform, tenant, object_key],
            )
            if cursor.rowcount == 0:
                self._exec(
                    "INSERT INTO platform_objects (remote_id, payload_hash, expires_at, "
                    "updated_at, platform, tenant, object_key) VALUES (?,?,?,?,?,?,?)",
                    [*values, platform, tenant, object_key],
                )

    def delete_platform_object(self, platform: str, tenant: str, object_key: str) -> bool:
        with self._write():
            cursor = self._exec(
                "DELETE FROM platform_objects WHERE platform = ? AND tenant = ? AND object_key = ?",
                [platform, tenant, object_key],
            )
            return cursor.rowcount > 0

    # ------------------------------------------------------------------ outbox

    def insert_notifications(
        self,
        rows: Iterable[NewNotification],
        now: datetime,
        *,
        watermarks: dict[str, str] | None = None,
    ) -> int:
        """Insert-or-ignore on (subscription, key), and on the key alone for a digest: what
        is there already stays as it is.

        `watermarks` (meta key -> fixed-width text that sorts in order) only move forward,
        in the same transaction, so "planned up to T" and the rows planned up to T are
        recorded together or not at all. (A drop's rows go in as sets: `insert_broadcasts`.)
        """
        stamp = to_db_time(now)
        rows = list(rows)
        with self._write():
            message_ids = self._message_ids({row.message_json for row in rows})
            params = [
                (
                    row.subscription_id,
                    str(row.notification_key),
                    row.season_id,
                    row.episode_id,
                    row.platform,
                    to_db_time(row.due_at),
                    row.state,
                    to_db_time(row.due_at),
                    row.last_error,
                    message_ids[row.message_json],
                    stamp,
                    stamp,
                    row.priority,
                    row.queue_rank,
                )
                for row in rows
            ]
            before = self.db.conn.total_changes
            self.db.conn.executemany(
                "INSERT INTO notifications (subscription_id, notification_key, season_id, "
                "episode_id, platform, due_at, state, next_attempt_at, last_error, message_id, "
                "created_at, updated_at, priority, queue_rank) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                # Either pair: (subscription, key), or a digest's key on its own.
                "ON CONFLICT DO NOTHING",
                params,
            )
            inserted = self.db.conn.total_changes - before
            for key, value in (watermarks or {}).items():
                current = self._exec("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
                if current is None or current[0] < value:
                    self._set_meta(key, value)
            return inserted

    def insert_broadcasts(
        self, broadcasts: Sequence[NewBroadcast], *, page: AudiencePage, now: datetime
    ) -> list[int]:
        """Each broadcast as one INSERT ... SELECT over its audience's members in the page
        (their ids travel as one JSON array): no row crosses into Python one by one, which
        is what makes a 100,000-channel drop cheap."""
        stamp = to_db_time(now)
        inserted = []
        members = {audience: json.dumps(ids) for audience, ids in page.audiences.items()}
        with self._write():
            message_ids = self._message_ids({broadcast.message_json for broadcast in broadcasts})
            for broadcast in broadcasts:
                due_at = to_db_time(broadcast.due_at)
                cursor = self._exec(
                    _INSERT_BROADCAST,
                    {
                        "key": str(broadcast.notification_key),
                        "season_id": broadcast.season_id,
                        "episode_id": broadcast.episode_id,
                        "due_at": due_at,
                        "state": broadcast.state,
                        "last_error": broadcast.last_error,
                        "message_id": message_ids[broadcast.message_json],
                        "now": stamp,
                        "priority": broadcast.priority,
                        "queue_rank": broadcast.queue_rank,
                        "rank_step": broadcast.rank_step,
                        "members": members[broadcast.audience],
                        "subscribed_by": to_db_time(broadcast.subscribed_by)
                        if broadcast.subscribed_by is not None
                        else _END_OF_TIME,
                    },
                )
                inserted.append(cursor.rowcount)
        return inserted

    def _message_ids(self, bodies: set[str]) -> dict[str, int]:
        """Store each distinct message body once; body -> id."""
        ids = {}
        for body in bodies:
            digest = hashlib.sha256(body.encode()).hexdigest()
            self._exec(
                "INSERT INTO messages (digest, body) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING",
                [digest, body],
            )
            ids[body] = self._exec("SELECT id FROM messages WHERE digest = ?", [digest]).fetchone()[
                0
            ]
        return ids

    def claim_due(
        self, now: datetime, *, platforms: Sequence[str], limit: int = 500, generation: int
    ) -> list[OutboxRow]:
        """Move up to `limit` due pending rows to `sending` under `generation` and return them.

        The claim is one transaction, so two processes never send the same row; it raises
        `FencedOut` instead when `generation` is no longer the delivery lease's.
        """
        if not platforms:
            return []
        marks = ",".join("?" * len(platforms))
        with self._write():
            self._check_fence(generation)
            rows = list(
                self.db.query(
                    _OUTBOX_SELECT + f"WHERE n.state = 'pending' AND n.next_attempt_at <= ? "
                    f"AND n.platform IN ({marks}) "
                    "ORDER BY n.next_attempt_at, n.priority, n.id LIMIT ?",
                    [to_db_time(now), *platforms, limit],
                )
            )
            return self._mark_claimed(rows, to_db_time(now), generation)

    def adopt_orphans(self, *, platforms: Sequence[str], generation: int) -> list[OutboxRow]:
        """Rows left in `sending` by an earlier generation (a runner known to be gone: its
        generation is over), now claimed by `generation` so that it may resolve them."""
        if not platforms:
            return []
        marks = ",".join("?" * len(platforms))
        with self._write():
            self._check_fence(generation)
            rows = list(
                self.db.query(
                    _OUTBOX_SELECT + "WHERE n.state = 'sending' AND n.claim_generation < ? "
                    f"AND n.platform IN ({marks}) ORDER BY n.id",
                    [generation, *platforms],
                )
            )
            self.db.conn.executemany(
                "UPDATE notifications SET claim_generation = ? WHERE id = ? AND state = 'sending'",
                [(generation, row["id"]) for row in rows],
            )
        return [_outbox_row(row) for row in rows]

    def mark_sent(
        self,
        row_id: int,
        platform_message_id: str,
        now: datetime,
        *,
        generation: int,
        unchecked: bool = False,
    ) -> None:
        """`unchecked`: sent again although the platform could not tell whether an earlier
        attempt got through (shown by `status`)."""
        self._update_claimed(
            row_id,
            generation,
            "state = 'sent', platform_message_id = ?, sent_at = ?, updated_at = ?, "
            "last_error = NULL, unchecked_resend = ?",
            [platform_message_id, to_db_time(now), to_db_time(now), int(unchecked)],
        )

    def mark_retry(
        self, row_id: int, error: str, next_attempt_at: datetime, now: datetime, *, generation: int
    ) -> None:
        self._update_claimed(
            row_id,
            generation,
            "state = 'pending', last_error = ?, next_attempt_at = ?, updated_at = ?",
            [error, to_db_time(next_attempt_at), to_db_time(now)],
        )

    def mark_skipped(self, row_id: int, reason: str, now: datetime, *, generation: int) -> None:
        """A claimed row that must not go out after all (a reminder whose drop has passed)."""
        self._update_claimed(
            row_id,
            generation,
            "state = 'skipped', last_error = ?, updated_at = ?",
            [reason, to_db_time(now)],
        )

    def mark_failed(
        self, row: OutboxRow, error: str, now: datetime, *, pause: bool, generation: int
    ) -> None:
        """A permanent failure: the row fails and, when `pause`, so does its subscription."""
        with self._write():
            self._update_claimed(
                row.id,
                generation,
                "state = 'failed', last_error = ?, updated_at = ?",
                [error, to_db_time(now)],
            )
            if pause:
                self.pause_subscriptions(error, subscription_id=row.subscription_id)

    def release_sending(self, row_ids: Sequence[int], now: datetime, *, generation: int) -> None:
        """Give claimed rows back (shutdown before they were sent; recovery found no post)."""
        with self._write():
            self._check_fence(generation)
            self.db.conn.executemany(
                "UPDATE notifications SET state = 'pending', attempts = MAX(attempts - 1, 0), "
                "updated_at = ? WHERE id = ? AND state = 'sending' AND claim_generation = ?",
                [(to_db_time(now), row_id, generation) for row_id in row_ids],
            )

    def _update_claimed(
        self, row_id: int, generation: int, assignments: str, params: Sequence[Any]
    ) -> None:
        """Change a row this generation claimed, in one statement fenced by the lease: a
        runner whose generation is over changes nothing (`FencedOut`)."""
        with self._write():
            changed = self._exec(
                f"UPDATE notifications SET {assignments} WHERE id = ? AND state = 'sending' "
                f"AND claim_generation = ? AND {_FENCE}",
                [*params, row_id, generation, DELIVERY_LEASE, generation],
            ).rowcount
            if not changed:
                self._check_fence(generation)

    def _check_fence(self, generation: int) -> None:
        row = self._exec(
            "SELECT generation, holder FROM leases WHERE name = ?", [DELIVERY_LEASE]
        ).fetchone()
        if row is None or row[0] != generation or not row[1]:
            current = f"generation {row[0]}" if row else "no lease"
            raise FencedOut(f"lease generation {generation} is over ({current} now)")

    def skip_overdue(self, before: datetime, now: datetime) -> int:
        """Pending rows due before `before` are recorded as skipped: never sent weeks late
        (a platform that was not configured for a while, a long outage)."""
        with self._write():
            return self._exec(
                "UPDATE notifications SET state = 'skipped', updated_at = ?, last_error = "
                "'not sent within the grace window' WHERE state = 'pending' AND due_at < ?",
                [to_db_time(now), to_db_time(before)],
            ).rowcount

    def next_attempt_at(self, platforms: Sequence[str]) -> datetime | None:
        """When the earliest pending row (a retry, usually) may be tried."""
        if not platforms:
            return None
        rows = self._rows(
            "SELECT MIN(next_attempt_at) AS at FROM notifications WHERE state = 'pending' "
            f"AND platform IN ({','.join('?' * len(platforms))})",
            list(platforms),
        )
        return from_db_time(rows[0]["at"]) if rows and rows[0]["at"] else None

    def outbox_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTBOX_STATES, 0)
        for row in self._rows("SELECT state, COUNT(*) AS n FROM notifications GROUP BY state"):
            counts[row["state"]] = row["n"]
        return counts

    def outbox(
        self,
        *,
        states: Sequence[str] | None = None,
        limit: int = 1000,
        newest_first: bool = False,
        with_error: bool = False,
    ) -> list[OutboxRow]:
        """Outbox rows in due order (or newest first), e.g. the recent failures, or the
        rows waiting for a retry (`with_error`: the ones that carry a last error)."""
        order = "n.due_at DESC, n.id DESC" if newest_first else "n.due_at, n.id"
        conditions = ["1 = 1"]
        params: list[Any] = []
        if states:
            conditions.append(f"n.state IN ({','.join('?' * len(states))})")
            params = list(states)
        if with_error:
            conditions.append("n.last_error IS NOT NULL")
        clause = "WHERE " + " AND ".join(conditions)
        rows = self._rows(
            _OUTBOX_SELECT + f"{clause} ORDER BY {order} LIMIT ?",
            [*params, limit],
        )
        return [_outbox_row(row) for row in rows]

    def last_sent_by_platform(self) -> dict[str, datetime]:
        rows = self._rows(
            "SELECT platform, MAX(sent_at) AS at FROM notifications WHERE state = 'sent' "
            "GROUP BY platform"
        )
        return {row["platform"]: from_db_time(row["at"]) for row in rows if row["at"]}

    # ------------------------------------------------------------------ calendar feeds

    def calendar_token(self, scope: str) -> str | None:
        rows = self._rows("SELECT token FROM calendar_tokens WHERE scope = ?", [scope])
        return rows[0]["token"] if rows else None

    def replace_calendar_token(self, scope: str, token: str, now: datetime) -> None:
        """Issue `token` for `scope`; any earlier token of the scope stops working."""
        with self._write():
            self._exec("DELETE FROM calendar_tokens WHERE scope = ?", [scope])
            self._exec(
                "INSERT INTO calendar_tokens (scope, token, token_digest, created_at) "
                "VALUES (?, ?, ?, ?)",
                [scope, token, hashlib.sha256(token.encode()).hexdigest(), to_db_time(now)],
            )

    def calendar_token_by_digest(self, digest: str) -> tuple[str, str] | None:
        """(scope, token) of the token whose sha256 is `digest`, if it is current."""
        rows = self._rows(
            "SELECT scope, token FROM calendar_tokens WHERE token_digest = ?", [digest]
        )
        return (rows[0]["scope"], rows[0]["token"]) if rows else None

    def calendar_revisions(
        self, episode_ids: Sequence[int]
    ) -> dict[int, tuple[str, int, datetime]]:
        """episode id -> (fingerprint, sequence, modified_at) of the drops seen before."""
        found: dict[int, tuple[str, int, datetime]] = {}
        ids = list(episode_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for row in self._rows(
                "SELECT * FROM calendar_revisions "
                f"WHERE episode_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                found[row["episode_id"]] = (
                    row["fingerprint"],
                    row["sequence"],
                    from_db_time(row["modified_at"]),
                )
        return found

    def save_calendar_revisions(self, revisions: Iterable[tuple[int, str, int, datetime]]) -> None:
        """Record (episode id, fingerprint, sequence, modified_at) for each drop given."""
        with self._write():
            for episode_id, fingerprint, sequence, modified_at in revisions:
                self._exec("DELETE FROM calendar_revisions WHERE episode_id = ?", [episode_id])
                self._exec(
                    "INSERT INTO calendar_revisions (episode_id, fingerprint, sequence, "
                    "modified_at) VALUES (?, ?, ?, ?)",
                    [episode_id, fingerprint, sequence, to_db_time(modified_at)],
                )

    # ------------------------------------------------------------------ follows

    def follow(
        self,
        user: UserRef,
        show: Show,
        *,
        reminders: Sequence[int],
        followed_in: str,
        actor: str,
        now: datetime,
    ) -> tuple[Subscription, bool]:
        """Follow (or change the reminders of, and resume) a show; whether it is new.

        Stored as a subscription of the member's DMs: drops and reminders only, no trailer,
        announcement or move posts."""
        with self._write():
            subscription, created = self.subscribe(
                user.inbox,
                show,
                reminders=reminders,
                trailers=False,
                mention=None,
                hide_titles=False,
                actor=actor,
                now=now,
            )
            self._exec(
                "UPDATE subscriptions SET followed_in = ? WHERE id = ?",
                [followed_in, subscription.id],
            )
        return subscription, created

    def unfollow(self, user: UserRef, show: Show, *, actor: str, now: datetime) -> bool:
        return self.unsubscribe(user.inbox, show, actor=actor, now=now)

    def follows(self, user: UserRef) -> list[tuple[Subscription, str]]:
        """The member's follows with the tenant where each was made."""
        inbox = user.inbox
        rows = self._tuples(
            f"SELECT {_SUBSCRIPTION_COLUMNS}, followed_in FROM subscriptions "
            "WHERE platform = ? AND tenant = ? AND channel = ? ORDER BY id",
            [inbox.platform, inbox.tenant, inbox.channel],
        )
        return [(_subscription(row[:-1]), row[-1] or "") for row in rows]

    def forget_user(self, user: UserRef, *, now: datetime) -> tuple[int, int]:
        """Delete every follow of the member, with their outbox rows and the audit entries
        that name them; (follows, unsent DMs)."""
        inbox = user.inbox
        where = "platform = ? AND tenant = ? AND channel = ?"
        params = [inbox.platform, inbox.tenant, inbox.channel]
        with self._write():
            unsent = self._exec(
                "SELECT COUNT(*) FROM notifications WHERE state IN ('pending', 'sending') AND "
                f"subscription_id IN (SELECT id FROM subscriptions WHERE {where})",
                params,
            ).fetchone()[0]
            removed = self._exec(f"DELETE FROM subscriptions WHERE {where}", params).rowcount
            # Their follow/unfollow entries (the member's other acts, e.g. as an admin, stay).
            self._exec(
                "DELETE FROM audit_log WHERE json_extract(detail, '$.channel') = ?", [str(inbox)]
            )
            if removed:
                # No user id in the log: forgetting someone must not leave their name behind.
                self.audit("a member", inbox.tenant_key, "forget", {"follows": removed}, now)
                self._bump_changes()
        return removed, unsent

    # ------------------------------------------------------------------ digests

    def set_digest(self, digest: Digest, *, actor: str, now: datetime) -> bool:
        """Set (or replace) a channel's weekly digest; whether it is new."""
        channel = digest.channel
        key = [channel.platform, channel.tenant, channel.channel]
        values = [digest.weekday, digest.at.strftime("%H:%M"), digest.timezone, int(digest.only)]
        with self._write():
            updated = self._exec(
                "UPDATE digests SET weekday = ?, at_time = ?, timezone = ?, only_digest = ? "
                "WHERE platform = ? AND tenant = ? AND channel = ?",
                [*values, *key],
            ).rowcount
            if not updated:
                self._exec(
                    "INSERT INTO digests (weekday, at_time, timezone, only_digest, platform, "
                    "tenant, channel, created_at) VALUES (?,?,?,?,?,?,?,?)",
                    [*values, *key, to_db_time(now)],
                )
            self.audit(actor, channel.tenant_key, "digest", {"channel": str(channel)}, now)
            self._bump_changes()
        return not updated

    def remove_digest(self, channel: ChannelRef, *, actor: str, now: datetime) -> bool:
        with self._write():
            removed = self._exec(
                "DELETE FROM digests WHERE platform = ? AND tenant = ? AND channel = ?",
                [channel.platform, channel.tenant, channel.channel],
            ).rowcount
            if removed:
                self.audit(actor, channel.tenant_key, "digest off", {"channel": str(channel)}, now)
                self._bump_changes()
        return removed > 0

    def digests(self, channel: ChannelRef | None = None) -> list[Digest]:
        if channel is None:
            rows = self._rows("SELECT * FROM digests ORDER BY platform, tenant, channel")
        else:
            rows = self._rows(
                "SELECT * FROM digests WHERE platform = ? AND tenant = ? AND channel = ?",
                [channel.platform, channel.tenant, channel.channel],
            )
        return [_digest(row) for row in rows]

    # ------------------------------------------------------------------ schedule sources

    def show_source(self, show_id: int) -> SourceLink | None:
        rows = self._rows("SELECT * FROM show_sources WHERE show_id = ?", [show_id])
        return _source_link(rows[0]) if rows else None

    def linked_sources(self, kind: str | None = None) -> list[SourceLink]:
        """Every show's link to its source (of one kind), in show id order."""
        if kind is None:
            rows = self._rows("SELECT * FROM show_sources ORDER BY show_id")
        else:
            rows = self._rows("SELECT * FROM show_sources WHERE kind = ? ORDER BY show_id", [kind])
        return [_source_link(row) for row in rows]

    def shows_linked_to(self, kind: str, ref: str) -> list[int]:
        """Ids of the shows that follow this source (one TVmaze show, one feed)."""
        rows = self._tuples(
            "SELECT show_id FROM show_sources WHERE kind = ? AND ref = ? ORDER BY show_id",
            [kind, ref],
        )
        return [row[0] for row in rows]

    def released_episode_ids(self, season_ids: Sequence[int]) -> set[int]:
        """Episodes whose release was posted (or is being posted) to some channel."""
        if not season_ids:
            return set()
        marks = ",".join("?" * len(season_ids))
        rows = self._tuples(
            "SELECT DISTINCT episode_id FROM notifications WHERE season_id IN "
            f"({marks}) AND notification_key LIKE ? AND state IN ('sent', 'sending')",
            [*season_ids, NotificationKey.text_pattern(KeyKind.RELEASE)],
        )
        return {row[0] for row in rows}

    def next_release_by_show(self, show_ids: Sequence[int], after: datetime) -> dict[int, datetime]:
        """Each show's first episode release after `after` (shows with none are absent)."""
        if not show_ids:
            return {}
        rows = self._tuples(
            "SELECT s.show_id, MIN(e.release_at) FROM episodes e JOIN seasons s "
            f"ON s.id = e.season_id WHERE s.show_id IN ({','.join('?' * len(show_ids))}) "
            "AND e.release_at > ? GROUP BY s.show_id",
            [*show_ids, to_db_time(after)],
        )
        return {show_id: from_db_time(at) for show_id, at in rows}

    def import_source_show(
        self,
        title: str,
        *,
        network: str | None,
        timezone: str,
        release_time: time,
        tenant_key: str | None,
        link: SourceLink,
        changes: SyncChanges,
        actor: str,
        now: datetime,
        fetched: dict[str, Any] | None = None,
    ) -> Show:
        """A new show, its link to the source and everything the source holds: one
        transaction, so a failed import leaves nothing behind."""
        with self._write():
            show = self.add_show(
                title,
                network=network,
                timezone=timezone,
                release_time=release_time,
                tenant_key=tenant_key,
                actor=actor,
                now=now,
            )
            self.link_source(replace(link, show_id=show.id), now=now)
            self.apply_source_changes(
                show, changes, kind=link.kind, actor=actor, now=now, fetched=fetched
            )
        return self.get_show(show.id)

    def link_source(self, link: SourceLink, *, now: datetime) -> None:
        """Make `link` the show's source (replacing any earlier one)."""
        with self._write():
            self._exec("DELETE FROM show_sources WHERE show_id = ?", [link.show_id])
            self._exec(
                "INSERT INTO show_sources (show_id, kind, ref, page_url, series, "
                "include_specials, summary, created_at) VALUES (?,?,?,?,?,?,?,?)",
                [
                    link.show_id,
                    link.kind,
                    link.ref,
                    link.page_url,
                    link.series,
                    int(link.include_specials),
                    link.summary,
                    to_db_time(now),
                ],
            )

    def apply_source_changes(
        self,
        show: Show,
        changes: SyncChanges,
        *,
        kind: str,
        actor: str,
        now: datetime,
        fetched: dict[str, Any] | None = None,
    ) -> None:
        """Apply a sync's changes and record it as the show's last good sync, atomically.

        Released episodes are read again inside the transaction: one whose drop was posted
        since the changes were computed is neither moved nor removed. `fetched` holds what
        the source answered besides (etag, last_modified, source_updated, summary).
        """
        with self._write():
            if changes.network:
                self._exec("UPDATE shows SET network = ? WHERE id = ?", [changes.network, show.id])
            for new in changes.new_seasons:
                self._insert_source_season(show, new, now)
            for each in changes.seasons:
                self._apply_season_changes(each, now)
            state = {"last_result": "; ".join(changes.describe()) or "no change", **(fetched or {})}
            columns = ", ".join(f"{name} = ?" for name in state)
            self._exec(
                f"UPDATE show_sources SET {columns}, last_attempt_at = ?, last_ok_at = ?, "
                "last_error = NULL WHERE show_id = ?",
                [*state.values(), to_db_time(now), to_db_time(now), show.id],
            )
            if not changes.is_empty():
                self.audit(
                    actor,
                    show.tenant_key or "",
                    "source sync",
                    {"show": show.title, "source": kind, "changes": changes.describe()},
                    now,
                )
                self._bump_changes()

    def _insert_source_season(self, show: Show, new: NewSeason, now: datetime) -> None:
        cursor = self._exec(
            "INSERT INTO seasons (show_id, number, premiere, episode_count, cadence_kind, "
            "cadence_weekday, cadence_dates, premiere_episodes, release_time, timezone, "
            "created_at, source_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                show.id,
                new.number,
                new.premiere.isoformat(),
                max(e.number for e in new.episodes),
                new.cadence.kind,
                new.cadence.weekday,
                json.dumps([d.isoformat() for d in new.cadence.dates]),
                new.premiere_episodes,
                new.release_time.strftime("%H:%M"),
                new.timezone,
                to_db_time(now),
                new.source_id,
            ],
        )
        for record in new.episodes:
            self._insert_source_episode(cursor.lastrowid, record)
        self._add_event(cursor.lastrowid, "announced", now, {})

    def _insert_source_episode(self, season_id: int | None, record: CatalogEpisode) -> None:
        self._exec(
            "INSERT INTO episodes (season_id, number, title, release_at, time_estimated, "
            "source_id) VALUES (?,?,?,?,?,?)",
            [
                season_id,
                record.number,
                record.title,
                to_db_time(record.release_at),
                int(record.time_estimated),
                record.source_id,
            ],
        )

    def _apply_season_changes(self, each: SeasonChanges, now: datetime) -> None:
        season = each.season
        released = self.released_episode_ids([season.id])
        for episode, record in each.moved:
            if episode.id not in released:
                self._move_episode(episode.id, record.release_at)
        for episode, record in [*each.moved, *each.marked]:
            if episode.id not in released:
                self._exec(
                    "UPDATE episodes SET time_estimated = ?, source_id = ? WHERE id = ?",
                    [int(record.time_estimated), record.source_id, episode.id],
                )
        for episode, title in each.retitled:
            self._exec("UPDATE episodes SET title = ? WHERE id = ?", [title, episode.id])
        for record in each.added:
            self._insert_source_episode(season.id, record)
        for episode in each.removed:
            if episode.id not in released:
                self._exec("DELETE FROM episodes WHERE id = ?", [episode.id])
        self._exec("UPDATE seasons SET source_id = ? WHERE id = ?", [each.source_id, season.id])
        if each.cadence is not None:
            self._exec(
                "UPDATE seasons SET premiere = ?, episode_count = ?, cadence_kind = ?, "
                "cadence_weekday = ?, cadence_dates = ?, premiere_episodes = ? WHERE id = ?",
                [
                    (each.premiere or season.premiere).isoformat(),
                    each.episode_count,
                    each.cadence.kind,
                    each.cadence.weekday,
                    json.dumps([d.isoformat() for d in each.cadence.dates]),
                    each.premiere_episodes,
                    season.id,
                ],
            )
        if each.announcement is not None:
            self._add_event(season.id, "moved", now, each.announcement)
        elif each.replans:
            # Posts nothing itself; tells the next delivery pass to re-plan the season.
            self._add_event(season.id, "rescheduled", now, {"source": "sync"})

    def record_sync_failure(self, show_id: int, error: str, *, now: datetime) -> None:
        """The source could not be read or its answer was refused: say why, change nothing."""
        with self._write():
            self._exec(
                "UPDATE show_sources SET last_attempt_at = ?, last_error = ? WHERE show_id = ?",
                [to_db_time(now), error[:500], show_id],
            )

    def set_next_sync(self, show_ids: list[int], at: datetime | None) -> None:
        """When `run`'s source jobs will next look at these shows (`sources status`)."""
        with self._write():
            for show_id in show_ids:
                self._exec(
                    "UPDATE show_sources SET next_sync_at = ? WHERE show_id = ?",
                    [at and to_db_time(at), show_id],
                )

    def release_holds(
        self,
        show: Show,
        *,
        season: Season | None,
        episode_number: int | None,
        actor: str,
        now: datetime,
    ) -> int:
        """Let the source own the fields an admin set by hand again (a show, a season or one
        episode); returns how many records held something."""
        with self._write():
            seasons = self.seasons_of(show.id) if season is None else [season]
            season_ids = [s.id for s in seasons]
            if not season_ids:
                return 0
            marks = ",".join("?" * len(season_ids))
            where = f"season_id IN ({marks})"
            params: list[Any] = list(season_ids)
            if episode_number is not None:
                where += " AND number = ?"
                params.append(episode_number)
            released = self._exec(
                f"UPDATE episodes SET manual = 0, title_held = 0 WHERE {where} "
                "AND (manual = 1 OR title_held = 1)",
                params,
            ).rowcount
            if episode_number is None:
                released += self._exec(
                    f"UPDATE seasons SET premiere_held = 0 WHERE id IN ({marks}) "
                    "AND premiere_held = 1",
                    list(season_ids),
                ).rowcount
            self.audit(
                actor,
                show.tenant_key or "",
                "sources release",
                {
                    "show": show.title,
                    "season": season.number if season else None,
                    "episode": episode_number,
                },
                now,
            )
            return released

    def subscription_counts(self, show_ids: Sequence[int], *, cap: int) -> dict[int, int]:
        """Subscriptions per show (paused ones included), counted only up to `cap` + 1: enough
        to tell a show that fits in a page of `cap` from a bigger one, from the index alone."""
        return {
            show_id: self._tuples(
                "SELECT COUNT(*) FROM (SELECT 1 FROM subscriptions WHERE show_id = ? LIMIT ?)",
                [show_id, cap + 1],
            )[0][0]
            for show_id in show_ids
        }

    def claim_fair(
        self, now: datetime, *, platform: str, limit: int, generation: int
    ) -> list[OutboxRow]:
        """Like `claim_due` for one platform, in fair-queue order (tag, then id): the rows
        of drops planned together come out interleaved (jobs/fairness.py). Fenced like
        `claim_due`: `FencedOut` once `generation` is no longer the delivery lease's."""
        stamp = to_db_time(now)
        with self._write():
            self._check_fence(generation)
            rows = self._rows(
                _OUTBOX_SELECT.replace("FROM notifications n", "FROM notifications n "
                                       "INDEXED BY notifications_fair")
                + "WHERE n.state = 'pending' AND n.platform = ? AND n.next_attempt_at <= ? "
                "ORDER BY n.priority, n.queue_rank, n.id LIMIT ?",
                [platform, stamp, limit],
            )  # fmt: skip
            return self._mark_claimed(rows, stamp, generation)

    def _mark_claimed(self, rows: list[dict], stamp: str, generation: int) -> list[OutboxRow]:
        """Claimed rows go to `sending` under `generation` (fenced, in the caller's
        transaction); they come back as the claimer sees them now."""
        if rows:
            self.db.conn.executemany(
                "UPDATE notifications SET state = 'sending', attempts = attempts + 1, "
                f"claim_generation = ?, updated_at = ? WHERE id = ? AND {_FENCE}",
                [(generation, stamp, row["id"], DELIVERY_LEASE, generation) for row in rows],
            )
        return [_outbox_row(row, state="sending", attempts=row["attempts"] + 1) for row in rows]

    def queue_head_rank(self, platform: str, priority: int, now: datetime) -> float:
        """The tag a platform's fair queue (at one priority) is serving: the lowest of its due
        pending rows, or (nothing waiting) the highest handed out, so new groups join where
        the queue is."""
        head = self._tuples(
            "SELECT queue_rank FROM notifications INDEXED BY notifications_fair "
            "WHERE state = 'pending' AND platform = ? AND priority = ? AND next_attempt_at <= ? "
            "ORDER BY queue_rank LIMIT 1",
            [platform, priority, to_db_time(now)],
        )
        if head:
            return head[0][0]
        # One index look-up per state (MAX over an IN list would scan).
        last = self._tuples(
            " UNION ALL ".join(
                f"SELECT MAX(queue_rank) FROM notifications WHERE state = '{state}' "
                "AND platform = ? AND priority = ?"
                for state in ("pending", "sending", "sent")
            ),
            [platform, priority] * 3,
        )
        return max((rank for (rank,) in last if rank is not None), default=0.0)

    # ------------------------------------------------------------------ replay memory

    def first_sighting(self, request_key: str, *, now: datetime, keep_until: datetime) -> bool:
        """Record a signed request; False if it was seen before (a replay). Expired keys go."""
        with self._write():
            self._exec("DELETE FROM seen_requests WHERE expires_at < ?", [to_db_time(now)])
            cursor = self._exec(
                "INSERT INTO seen_requests (request_key, expires_at) VALUES (?, ?) "
                "ON CONFLICT (request_key) DO NOTHING",
                [request_key, to_db_time(keep_until)],
            )
            return cursor.rowcount == 1

    def unchecked_resends(self) -> int:
        """Rows sent again although the platform could not tell whether they were there."""
        return self._tuples("SELECT COUNT(*) FROM notifications WHERE unchecked_resend = 1")[0][0]

    # ------------------------------------------------------------------ leases (fencing)

    def read_lease(self, name: str) -> LeaseRecord | None:
        rows = self._rows(
            "SELECT name, generation, holder, heartbeat FROM leases WHERE name = ?", [name]
        )
        return LeaseRecord(**rows[0]) if rows else None

    def take_lease(
        self, name: str, *, expected_generation: int, holder: str, heartbeat: float
    ) -> int | None:
        """Take the lease if its generation is still `expected_generation` (0: never taken):
        one compare-and-set, so of two takers one wins. Returns the new generation or None."""
        with self._write():
            row = self._exec("SELECT generation FROM leases WHERE name = ?", [name]).fetchone()
            if (row[0] if row else 0) != expected_generation:
                return None
            generation = expected_generation + 1
            if row is None:
                self._exec(
                    "INSERT INTO leases (name, generation, holder, heartbeat) VALUES (?,?,?,?)",
                    [name, generation, holder, heartbeat],
                )
            else:
                self._exec(
                    "UPDATE leases SET generation = ?, holder = ?, heartbeat = ? "
                    "WHERE name = ? AND generation = ?",
                    [generation, holder, heartbeat, name, expected_generation],
                )
            return generation

    def renew_lease(self, name: str, *, generation: int, heartbeat: float) -> bool:
        """The holder's heartbeat; False (nothing written) once `generation` is over."""
        with self._write():
            return bool(
                self._exec(
                    "UPDATE leases SET heartbeat = ? WHERE name = ? AND generation = ? "
                    "AND holder != ''",
                    [heartbeat, name, generation],
                ).rowcount
            )

    def end_lease(self, name: str, *, generation: int) -> bool:
        """Free the lease if `generation` still holds it (a clean shutdown)."""
        with self._write():
            return bool(
                self._exec(
                    "UPDATE leases SET holder = '', heartbeat = 0 "
                    "WHERE name = ? AND generation = ?",
                    [name, generation],
                ).rowcount
            )


# ----------------------------------------------------------------------------- row mapping


_DIRECT_CLAUSE = f"substr(channel, 1, 1) = '{DIRECT_PREFIX}'"
# Of a subscription `s`: its channel takes the weekly digest instead of per-drop posts.
_DIGEST_ONLY = (
    "EXISTS (SELECT 1 FROM digests AS d WHERE d.only_digest = 1 AND d.platform = s.platform "
    "AND d.tenant = s.tenant AND d.channel = s.channel)"
)
# Later than any stamp (fixed-width text compares as time).
_END_OF_TIME = "9999-12-31T23:59:59Z"
# An audience's members in a page, as outbox rows tagged in id order (`insert_broadcasts`):
# those still active (a member paused or gone since the page was read gets nothing).
_INSERT_BROADCAST = """
    INSERT INTO notifications (subscription_id, notification_key, season_id, episode_id,
        platform, due_at, state, next_attempt_at, last_error, message_id, created_at,
        updated_at, priority, queue_rank)
    SELECT s.id, :key, :season_id, :episode_id, s.platform, :due_at, :state, :due_at,
        :last_error, :message_id, :now, :now, :priority,
        :queue_rank + (row_number() OVER (ORDER BY s.id) - 1) * :rank_step
    FROM json_each(:members) AS member JOIN subscriptions AS s ON s.id = member.value
    WHERE s.paused_reason IS NULL AND s.created_at <= :subscribed_by
    ORDER BY s.id
    ON CONFLICT (subscription_id, notification_key) DO NOTHING
"""


def _subscription_filter(
    *,
    subscription_id: int | None = None,
    channel: ChannelRef | None = None,
    tenant_key: str | None = None,
    show_ids: Sequence[int] | None = None,
    paused: bool | None = None,
    direct: bool | None = None,
) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) picking subscriptions; every filter is optional
    (`direct`: follows, i.e. members' DMs, or channels only)."""
    clauses: list[str] = []
    params: list[Any] = []
    if direct is not None:
        clauses.append(_DIRECT_CLAUSE if direct else f"NOT {_DIRECT_CLAUSE}")
    if paused is not None:
        clauses.append("paused_reason IS NOT NULL" if paused else "paused_reason IS NULL")
    if subscription_id is not None:
        clauses.append("id = ?")
        params.append(subscription_id)
    if channel is not None:
        clauses.append("platform = ? AND tenant = ? AND channel = ?")
        params += [channel.platform, channel.tenant, channel.channel]
    if tenant_key is not None:
        platform, _, tenant = tenant_key.partition(":")
        clauses.append("platform = ? AND tenant = ?")
        params += [platform, tenant]
    if show_ids is not None:
        clauses.append(f"show_id IN ({','.join('?' * len(show_ids))})")
        params += list(show_ids)
    return " AND ".join(clauses) or "1 = 1", params


def _digest(row: dict) -> Digest:
    return Digest(
        channel=ChannelRef(row["platform"], row["tenant"], row["channel"]),
        weekday=row["weekday"],
        at=time.fromisoformat(row["at_time"]),
        timezone=row["timezone"],
        only=bool(row["only_digest"]),
    )


def _split_sql(script: str) -> list[str]:
    """A migration's statements, comments removed first (a `;` in a comment is no end), and
    a trigger's body kept whole (its `;`s end statements inside it, not the trigger)."""
    lines = [line.split("--")[0].rstrip() for line in script.splitlines()]
    code = "\n".join(line for line in lines if line.strip())
    statements, pending = [], ""
    for piece in code.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip().removesuffix(";").strip())
            pending = ""
    return statements


@functools.lru_cache(maxsize=1024)
def _parse_reminders(text: str) -> tuple[int, ...]:
    # Cached: subscriptions share a handful of reminder settings.
    return tuple(int(part) for part in text.split(",") if part)


def _format_reminders(reminders: Sequence[int]) -> str:
    """The stored text of reminder offsets; `_parse_reminders` reads it back."""
    return ",".join(str(offset) for offset in reminders)


def _show(row: dict) -> Show:
    return Show(
        id=row["id"],
        title=row["title"],
        network=row["network"],
        timezone=row["timezone"],
        release_time=time.fromisoformat(row["release_time"]),
        tenant_key=row["tenant_key"] or None,
        source=row.get("source"),
        source_page=row.get("source_page"),
    )


def _season(row: dict) -> Season:
    return Season(
        id=row["id"],
        show_id=row["show_id"],
        number=row["number"],
        premiere=date.fromisoformat(row["premiere"]),
        episode_count=row["episode_count"],
        cadence=Cadence(
            kind=row["cadence_kind"],
            weekday=row["cadence_weekday"],
            dates=tuple(date.fromisoformat(d) for d in json.loads(row["cadence_dates"] or "[]")),
        ),
        premiere_episodes=row["premiere_episodes"],
        release_time=time.fromisoformat(row["release_time"]),
        timezone=row["timezone"],
        trailer_url=row["trailer_url"],
        title=row["title"],
        source_id=row.get("source_id"),
        premiere_held=bool(row.get("premiere_held")),
    )


def _episode(row: dict) -> Episode:
    return Episode(
        id=row["id"],
        season_id=row["season_id"],
        number=row["number"],
        title=row["title"],
        release_at=from_db_time(row["release_at"]),
        manual=bool(row["manual"]),
        time_estimated=bool(row.get("time_estimated")),
        title_held=bool(row.get("title_held")),
        source_id=row.get("source_id"),
    )


def _event(row: dict) -> SeasonEvent:
    return SeasonEvent(
        id=row["id"],
        season_id=row["season_id"],
        kind=row["kind"],
        seq=row["seq"],
        created_at=from_db_time(row["created_at"]),
        detail=json.loads(row["detail"]),
    )


_SUBSCRIPTION_COLUMNS = (
    "id, platform, tenant, channel, show_id, reminders, trailers, mention, hide_titles, "
    "paused_reason, created_at"
)


def _subscription(row: Sequence[Any]) -> Subscription:
    """From a row of `_SUBSCRIPTION_COLUMNS`, by position: a drop loads 100,000 of them."""
    (id_, platform, tenant, channel, show_id, reminders, trailers, mention, hide_titles,
     paused_reason, created_at) = row  # fmt: skip
    return Subscription(
        id=id_,
        channel=ChannelRef(platform, tenant, channel),
        show_id=show_id,
        reminders=_parse_reminders(reminders),
        trailers=bool(trailers),
        mention=mention,
        hide_titles=bool(hide_titles),
        paused_reason=paused_reason,
        created_at=from_db_time(created_at),
    )


def _source_link(row: dict) -> SourceLink:
    def instant(name: str) -> datetime | None:
        return from_db_time(row[name]) if row[name] else None

    return SourceLink(
        show_id=row["show_id"],
        kind=row["kind"],
        ref=row["ref"],
        page_url=row["page_url"],
        series=row["series"],
        include_specials=bool(row["include_specials"]),
        summary=row["summary"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        source_updated=row["source_updated"],
        last_attempt_at=instant("last_attempt_at"),
        last_ok_at=instant("last_ok_at"),
        last_result=row["last_result"],
        last_error=row["last_error"],
        next_sync_at=instant("next_sync_at"),
    )


def _platform_object(row: dict) -> PlatformObject:
    return PlatformObject(
        platform=row["platform"],
        tenant=row["tenant"],
        object_key=row["object_key"],
        remote_id=row["remote_id"],
        payload_hash=row["payload_hash"],
        expires_at=from_db_time(row["expires_at"]) if row["expires_at"] else None,
        updated_at=from_db_time(row["updated_at"]),
    )


@functools.lru_cache(maxsize=256)
def _parse_message(body: str) -> dict[str, Any]:
    """A drop's rows share a few bodies: parse each once (callers must not mutate it)."""
    return json.loads(body)


def _outbox_row(row: dict, **override: Any) -> OutboxRow:
    values = {
        "id": row["id"],
        "subscription_id": row["subscription_id"],
        "notification_key": NotificationKey.parse(row["notification_key"]),
        "channel": ChannelRef(row["sub_platform"], row["tenant"], row["channel"]),
        "due_at": from_db_time(row["due_at"]),
        "state": row["state"],
        "attempts": row["attempts"],
        "message": _parse_message(row["message"]),
        "last_error": row["last_error"],
        "platform_message_id": row["platform_message_id"],
        "priority": row["priority"],
        "queue_rank": row["queue_rank"],
        "mention": row["mention"],
    }
    values.update(override)
    return OutboxRow(**values)
