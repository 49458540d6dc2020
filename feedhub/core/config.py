"""Settings, read once from FEEDHUB_* environment variables at the edge (CLI, create_app).

No module reads the environment at import time: `Settings.from_env()` is called by the CLI
(or a test) and the resulting frozen object is passed down.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from feedhub.core.errors import ConfigError
from feedhub.core.paths import default_data_dir

__all__ = ["Settings", "env_name"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _to_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true/false)")


# The metadata of the settings `serve` hands its workers (see Settings.worker_token_file).
_HANDOVER = {"handover": True}


def env_name(spec: Field[Any]) -> str:
    """The environment variable a setting is read from: FEEDHUB_<FIELD>, unless it says."""
    name: str = spec.metadata.get("env", f"FEEDHUB_{spec.name.upper()}")
    return name


_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def _check_driver(url: str) -> None:
    """A synchronous driver would fail deep inside SQLAlchemy with a long traceback."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(
            f"FEEDHUB_DATABASE_URL={url!r} is not a database URL "
            "(expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://...)"
        )
    dialect, _, driver = scheme.partition("+")
    wanted = _ASYNC_DRIVERS.get(dialect)
    if wanted is not None and scheme != wanted and driver not in ("aiosqlite", "asyncpg"):
        raise ConfigError(
            f"FEEDHUB_DATABASE_URL uses {scheme}://, a synchronous driver: write {wanted}://{rest}"
        )


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite+aiosqlite:///./feedhub.db"
    # Where state lives: the SQLite file (unless FEEDHUB_DATABASE_URL says otherwise), the
    # generated admin token and backups. from_env() fills it in (paths.default_data_dir);
    # "" (settings built directly, as tests do) means: no token file, no automatic backups.
    data_dir: str = ""
    # Log lines as JSON objects (one per line) instead of text.
    log_json: bool = False
    bus_url: str = "memory://"
    host: str = "127.0.0.1"
    port: int = 8000
    admin_token: str | None = field(default=None, repr=False)  # never in a log line
    scheduler: bool = True
    default_poll_interval: int = 900
    min_poll_interval: int = 60
    max_poll_interval: int = 86400
    # The longest wait between two polls of a feed polled at its publishing rate (not timed
    # to a rhythm, no hint of its own asking for longer); the minimum still wins.
    adaptive_max_poll_interval: int = 3600
    allow_private_networks: bool = False
    max_feed_bytes: int = 10 * 1024 * 1024
    heartbeat_seconds: float = 15.0
    # How often each web process reads the database for articles whose doorbell it may have
    # missed (pub/sub is at-most-once; a bus reconnect triggers the same read at once).
    bus_safety_seconds: float = 30.0
    # How often the scheduler looks for due feeds (seconds).
    tick_seconds: float = 5.0
    max_concurrent_polls: int = 8
    max_polls_per_host: int = 2
    # Minimum gap between the starts of two requests to one host (seconds).
    host_min_gap_seconds: float = 0.5
    # Total wall-clock budget for one fetch, so a server trickling bytes cannot hold a slot.
    fetch_deadline_seconds: float = 60.0
    fetch_timeout_seconds: float = 20.0
    # Parser worker processes for the documents the fast path declines (feedparser), at
    # most this many at once, each started when needed; 0 parses everything in threads of
    # this process (tests, tiny installs).
    parse_workers: int = 1
    # Stream: bound of one subscriber's queue (batches), and of a resume replay (articles).
    stream_queue_size: int = 256
    stream_replay_limit: int = 1000
    # How often each process checks its open streams' sessions against the database (s):
    # a stream of a session ended where no bus announcement reached (idle past its life,
    # a `feedhub users` command) ends within this.
    stream_session_check_seconds: float = 30.0
    retention_days: int = 90
    retention_min_per_feed: int = 50
    # A new entry published longer ago than this is backlog: stored and listed, but not
    # announced on the stream. Three days: a weekend's lull or a day of downtime
    # still counts as news, a podcast's archive does not. 0 announces everything.
    backlog_window_hours: float = 72.0
    # How often the housekeeping job (retention) runs; 0 turns it off.
    housekeeping_hours: float = 24.0
    # How often the poller fetches a feed's site icon again (hours); a failed attempt is
    # retried after a day at most. 0 fetches no icons.
    icon_refresh_hours: float = 168.0
    # Where an OPML feed outside any folder goes (a category name; its slug is derived).
    default_category: str = "Uncategorized"
    log_level: str = "INFO"
    # uvicorn's per-request access log: off by default, a reverse proxy usually keeps one,
    # and it costs a fifth of the CPU of accepting a stream (benchmarks/README.md, Fan-out).
    access_log: bool = False
    # The address readers use (e.g. https://news.example.org), for every absolute link the
    # service writes (output feeds' self links and entry ids). Unset: http://host:port.
    # Never taken from a request's Host header (a shared cache would spread a forged one).
    public_url: str | None = None
    # WebSub push (needs public_url: the hub calls back there). The lease feedhub asks hubs
    # for (they may grant another), how often subscriptions are renewed and retried, and
    # how often a feed whose pushes arrive is still polled, as a safety net (seconds).
    websub_lease_seconds: int = 864_000
    websub_tick_seconds: float = 60.0
    # The first retry after a denied, failed or expired subscription; doubles up to a day.
    websub_retry_seconds: float = 60.0
    push_safety_interval: int = 21_600
    # Connection limits. Streams over a limit get 503 + Retry-After.
    # max_streams 0: `serve` derives it from the open-file limit (less a reserve).
    max_streams: int = 0
    max_streams_per_client: int = 64
    # Open connections per client address, counted when accepted (a reverse proxy that
    # uvicorn trusts, FORWARDED_ALLOW_IPS, is not counted); past it a connection is closed.
    max_connections_per_client: int = 128
    # A request's headers must arrive within this many seconds, its body within the next.
    header_timeout_seconds: float = 10.0
    body_timeout_seconds: float = 30.0
    # Request bodies, checked before anything parses them: bytes on every route, on the
    # sign-in routes (a name and a password), on the OPML imports; fields of a form (and of
    # a query): 1,000 Google Reader item ids and the other parameters of the request.
    max_body_bytes: int = 128 * 1024
    max_sign_in_bytes: int = 4096
    max_import_bytes: int = 10 * 1024 * 1024
    max_form_fields: int = 1100
    # OPML import: `POST /api/admin/opml` answers in the request up to this many feeds;
    # a background job (`POST /api/admin/opml/jobs`) takes up to opml_max_feeds.
    # Entry caps: entries kept per document (the newest), the
    # characters of one entry's HTML (before and after sanitizing), and of its summary
    # (what anonymous lists and streams carry).
    max_entries_per_feed: int = 1000
    max_entry_chars: int = 1_000_000
    max_summary_chars: int = 65_536
    # A parser worker still busy with one document after this long is killed and replaced.
    parse_deadline_seconds: float = 30.0
    # A parser worker without a document for this long exits (seconds).
    parse_idle_seconds: float = 60.0
    # Documents up to this size are parsed in a thread of the server, not a worker: they
    # take milliseconds and must not wait behind big documents holding every worker.
    inline_parse_bytes: int = 32_768
    opml_sync_max_feeds: int = 500
    opml_max_feeds: int = 10_000
    # Readers: "public" keeps reading open to anyone, as before accounts existed
    # (an upgraded install has no users yet and must keep working); "private" needs a
    # signed-in user or a per-user token for the page, the read API, the stream and feeds.
    reading: str = "public"
    # Sign-in attempts (and password changes) per window (s) before 429: per user name from
    # one client network, and per client network over all names. A network is the client's
    # address cut to a prefix: IPv6 /64 (one subscriber's), IPv4 /32.
    login_attempts: int = 5
    login_window_seconds: float = 300.0
    login_network_attempts: int = 50
    login_ipv4_prefix: int = 32
    login_ipv6_prefix: int = 64
    # Bytes of one Google Reader answer with article content (stream/contents and the Atom
    # form): past them the page ends early (never before its first item) with a
    # continuation, so `n=1000` of megabyte articles is not a gigabyte answer.
    greader_answer_bytes: int = 4 * 1024 * 1024
    # Passwords hashed at once (each scrypt hash takes a core and 128 MiB), and how many
    # more may wait before a sign-in is refused with 429.
    password_workers: int = 2
    password_queue: int = 64
    # Handed by `feedhub serve --workers N` to its worker processes, never set by an operator
    # (so `feedhub config` does not list them). The kept admin token's file, which each worker
    # re-reads so that `feedhub token --rotate` reaches them all:
    worker_token_file: str | None = field(default=None, metadata=_HANDOVER)
    # prometheus-client's multiprocess directory, under the name prometheus-client reads
    # itself: each worker keeps its values in a file there and any worker answers for all.
    metrics_dir: str | None = field(
        default=None, metadata={**_HANDOVER, "env": "PROMETHEUS_MULTIPROC_DIR"}
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from FEEDHUB_<FIELD> variables; explicit overrides win."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            key = env_name(spec)
            if key not in env:
                continue
            raw = env[key]
            default = spec.default
            try:
                if isinstance(default, bool):
                    values[spec.name] = _to_bool(key, raw)
                elif isinstance(default, int):
                    values[spec.name] = int(raw)
                elif isinstance(default, float):
                    values[spec.name] = float(raw)
                else:
                    # A token read from a secrets file often ends in a newline.
                    optional = spec.name in ("admin_token", "public_url")
                    values[spec.name] = (raw.strip() or None) if optional else raw
            except ValueError as exc:
                raise ConfigError(f"{key}={raw!r}: {exc}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values.get("data_dir"):
            values["data_dir"] = str(default_data_dir(env))
        values["data_dir"] = os.path.abspath(os.path.expanduser(values["data_dir"]))
        if "database_url" not in values:
            values["database_url"] = f"sqlite+aiosqlite:///{values['data_dir']}/feedhub.db"
        settings = cls(**values)
        settings.validate()
        return settings

    @property
    def backlog_window(self) -> timedelta | None:
        return timedelta(hours=self.backlog_window_hours) if self.backlog_window_hours else None

    @property
    def base_url(self) -> str:
        """FEEDHUB_PUBLIC_URL without its trailing slash, or this server's own address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def backup_dir(self) -> str | None:
        """Where `feedhub backup` and the automatic pre-migration backups go."""
        return os.path.join(self.data_dir, "backups") if self.data_dir else None

    def redacted(self) -> dict[str, object]:
        """Every setting, secrets replaced: what `feedhub config` prints."""
        shown: dict[str, object] = {}
        for spec in fields(self):
            if spec.metadata.get("handover"):
                continue
            value = getattr(self, spec.name)
            if spec.name == "admin_token":
                value = "(set, hidden)" if value else "(unset: generated, kept in the data dir)"
            elif spec.name in ("database_url", "bus_url"):
                value = _hide_password(value)
            shown[spec.name] = value
        return shown

    def validate(self) -> None:
        _check_driver(self.database_url)
        if not 1 <= self.min_poll_interval <= self.max_poll_interval:
            raise ConfigError("FEEDHUB_MIN_POLL_INTERVAL must be ≥ 1 and ≤ the maximum")
        if not self.min_poll_interval <= self.default_poll_interval <= self.max_poll_interval:
            raise ConfigError("FEEDHUB_DEFAULT_POLL_INTERVAL must lie between min and max")
        if self.adaptive_max_poll_interval < 1:
            raise ConfigError("FEEDHUB_ADAPTIVE_MAX_POLL_INTERVAL must be ≥ 1")
        if self.max_feed_bytes < 1024:
            raise ConfigError("FEEDHUB_MAX_FEED_BYTES must be at least 1024")
        if min(self.max_body_bytes, self.max_sign_in_bytes, self.max_import_bytes) < 1024:
            raise ConfigError("FEEDHUB_MAX_*_BYTES limits of request bodies must be ≥ 1024")
        if self.max_connections_per_client < 0:
            raise ConfigError("FEEDHUB_MAX_CONNECTIONS_PER_CLIENT must be 0 (no limit) or more")
        if self.max_form_fields < 1:
            raise ConfigError("FEEDHUB_MAX_FORM_FIELDS must be at least 1")
        if self.bus_safety_seconds <= 0:
            raise ConfigError("FEEDHUB_BUS_SAFETY_SECONDS must be positive")
        if self.stream_session_check_seconds <= 0:
            raise ConfigError("FEEDHUB_STREAM_SESSION_CHECK_SECONDS must be positive")
        if self.heartbeat_seconds <= 0:
            raise ConfigError("FEEDHUB_HEARTBEAT_SECONDS must be positive")
        if self.icon_refresh_hours < 0:
            raise ConfigError("FEEDHUB_ICON_REFRESH_HOURS must be 0 (off) or more")
        if self.backlog_window_hours < 0:
            raise ConfigError("FEEDHUB_BACKLOG_WINDOW_HOURS must be 0 (off) or positive")
        if self.reading not in ("public", "private"):
            raise ConfigError("FEEDHUB_READING must be public or private")
        if self.login_attempts < 1 or self.login_window_seconds <= 0:
            raise ConfigError("FEEDHUB_LOGIN_ATTEMPTS and _WINDOW_SECONDS must be positive")
        if self.login_network_attempts < 1:
            raise ConfigError("FEEDHUB_LOGIN_NETWORK_ATTEMPTS must be positive")
        if not (8 <= self.login_ipv4_prefix <= 32 and 32 <= self.login_ipv6_prefix <= 128):
            raise ConfigError("FEEDHUB_LOGIN_IPV4_PREFIX lies in 8..32, _IPV6_PREFIX in 32..128")
        if self.greader_answer_bytes < 65_536:
            raise ConfigError("FEEDHUB_GREADER_ANSWER_BYTES must be at least 65536")
        if self.password_workers < 1 or self.password_queue < 0:
            raise ConfigError("FEEDHUB_PASSWORD_WORKERS ≥ 1 and FEEDHUB_PASSWORD_QUEUE ≥ 0")
        if self.max_concurrent_polls < 1 or self.max_polls_per_host < 1:
            raise ConfigError("poll concurrency limits must be at least 1")
        if not 1 <= self.max_summary_chars <= 65_536 or self.max_entry_chars < 1024:
            raise ConfigError(
                "FEEDHUB_MAX_SUMMARY_CHARS must lie in 1..65536, FEEDHUB_MAX_ENTRY_CHARS ≥ 1024"
            )
        if min(self.websub_lease_seconds, self.websub_tick_seconds, self.websub_retry_seconds) <= 0:
            raise ConfigError(
                "FEEDHUB_WEBSUB_LEASE_SECONDS, _TICK_SECONDS and _RETRY_SECONDS must be positive"
            )
        if self.push_safety_interval < self.min_poll_interval:
            raise ConfigError("FEEDHUB_PUSH_SAFETY_INTERVAL must be at least the minimum interval")
        if self.max_entries_per_feed < 1 or self.parse_deadline_seconds <= 0:
            raise ConfigError("FEEDHUB_MAX_ENTRIES_PER_FEED and the parse deadline must be ≥ 1")
        if self.parse_idle_seconds <= 0:
            raise ConfigError("FEEDHUB_PARSE_IDLE_SECONDS must be positive")
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    "FEEDHUB_PUBLIC_URL must be an http(s) URL, e.g. https://example.org"
                )
            if parts.query or parts.fragment:
                raise ConfigError("FEEDHUB_PUBLIC_URL must have no query or fragment")


def _hide_password(url: str) -> str:
    """`scheme://user:secret@host` -> `scheme://user:***@host`."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
