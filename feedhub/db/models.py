"""SQLAlchemy 2 typed ORM models (DESIGN.md "Data model"). Every change is a migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "Article",
    "ArticleState",
    "Base",
    "Category",
    "Feed",
    "FeedIcon",
    "HiddenCategory",
    "HiddenFeed",
    "ReadMark",
    "Tombstone",
    "User",
    "UserSession",
    "WebSubSubscription",
]

# Named constraints so Alembic's batch mode (SQLite) can drop and recreate them by name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, but INTEGER on SQLite where only "INTEGER PRIMARY KEY" is the rowid.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")

        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None

        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: object) -> Any:
        """On SQLite, the stored text read as a UTC datetime in one parse: the generic path
        (parse, then `replace(tzinfo=UTC)`) took seven times as long, and an id list of
        1,000 articles reads 1,000 of them."""
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or generic is None:
            return generic

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:  # SQLAlchemy writes "YYYY-MM-DD HH:MM:SS.ffffff", naive UTC
                parsed = datetime.fromisoformat(value + "+00:00")
            except (TypeError, ValueError):
                parsed = None
            if parsed is None or parsed.tzinfo is None:  # anything else: the generic path
                parsed = generic(value)
            return parsed

        return process


def _listed_default(context: Any) -> datetime:
    params = context.get_current_parameters()
    published, fetched = params.get("published_at"), params.get("fetched_at")
    if published is None or fetched is None:
        return cast(datetime, published or fetched)
    return cast(datetime, min(published, fetched))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Category(Base):
    __tablename__ = "category"
    # ids are handed to clients and never reused (AUTOINCREMENT on SQLite).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    feeds: Mapped[list[Feed]] = relationship(back_populates="category")


class Feed(Base):
    __tablename__ = "feed"
    # ids are handed to clients and never reused (AUTOINCREMENT on SQLite).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    site_url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(String(500))
    category_id: Mapped[int] = mapped_column(
        ForeignKey("category.id", ondelete="RESTRICT"), index=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    poll_interval: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_status: Mapped[int | None] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set once the feed has repeated a GUID for different links: keys then include the link.
    guid_unreliable: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Why the feed was disabled (e.g. "410 Gone"); None while enabled or disabled by hand.
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    # What the last poll cut to stay within the entry caps, in words; None if nothing.
    truncation: Mapped[str | None] = mapped_column(Text)
    # Until when a poller (of any process) holds this feed: no other may poll it before
    # (migration 0005). Cleared when the poll ends; a crashed poller's expires.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # PostgreSQL: the backend pid of the claimer's leader-lock session. When that session is
    # gone (its process died) the claim is void before its lease ends.
    claimed_by: Mapped[int | None] = mapped_column(Integer)
    # Why next_poll_at is when it is (cadence.REASONS): adaptive, fixed, backoff, …
    poll_reason: Mapped[str | None] = mapped_column(String(32))

    category: Mapped[Category] = relationship(back_populates="feeds")


class Article(Base):
    __tablename__ = "article"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid_key", name="uq_article_feed_guid_key"),
        Index("ix_article_feed_id_id", "feed_id", "id"),
        # Lists in publication order page on (listed_at, id).
        Index("ix_article_listed_at_id", "listed_at", "id"),
        # Id lists (Google Reader stream/items/ids) walk ids newest first and read these
        # three columns only: from this index, not the wide rows (migration 0015).
        Index("ix_article_id_feed_id_fetched_at", "id", "feed_id", "fetched_at"),
        # AUTOINCREMENT: ids are the stream's event ids and must never be reused after a
        # delete, or a resuming client would skip an article.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    guid_key: Mapped[str] = mapped_column(String(600))
    url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    # Summary and content without markup: what full-text search indexes (migration 0003).
    search_text: Mapped[str] = mapped_column(Text, server_default="")
    # Migration 0007. Publication time clamped to arrival: what lists sort by.
    # Rows inserted without it (scripts, tests) get min(published_at, fetched_at) too.
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_listed_default)
    # Backlog stored without a doorbell: listed, never announced on the stream.
    quiet: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # [{"url", "type", "length"}], read only with the article; never queried into.
    enclosures: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)


class Tombstone(Base):
    """An entry deleted by an admin or by retention: a re-poll must not bring it back."""

    __tablename__ = "tombstone"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True
    )
    guid_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- readers (migration 0006) ---------------------------------------------------------
class User(Base):
    """A reader or an admin. "user" is a reserved word on PostgreSQL, hence the table name."""

    __tablename__ = "reader_user"
    # ids are handed to clients and never reused (AUTOINCREMENT on SQLite).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # "scrypt$n$r$p$salt$hash" (feedhub.readers.passwords); never logged, never returned.
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    # The secret of the user's output-feed URLs (`?key=`): feed readers cannot sign in.
    feed_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Migration 0009. SHA-256 of the Fever API key, md5("name:password") as Fever defines
    # it, written when the password is set or checked (only then is it known); None
    # before. Hashed like session tokens: a copy of the database is no key.
    fever_key: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)


class UserSession(Base):
    """A signed-in browser ("web", cookie) or app ("api", Google Reader ClientLogin).

    Only a hash of the secret token is stored: a copy of the database signs nobody in.
    """

    __tablename__ = "user_session"
    # ids are handed to clients and never reused (AUTOINCREMENT on SQLite).
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_user.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Sent back in X-CSRF-Token (web) or as the Google Reader `T` token (api).
    csrf_token: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReadMark(Base):
    """Per user and feed: every article of the feed with an id <= upto_id is read, except
    those an ArticleState row marks unread. One row per feed instead of one per article
    keeps 100,000 articles x 20 users small."""

    __tablename__ = "read_mark"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_user.id", ondelete="CASCADE"), primary_key=True
    )
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True
    )
    upto_id: Mapped[int] = mapped_column(IdType)


class ArticleState(Base):
    """The exceptions to a user's read mark, and stars. `read` None: the mark decides."""

    __tablename__ = "article_state"
    __table_args__ = (
        Index("ix_article_state_user_id_feed_id", "user_id", "feed_id", "article_id"),
        Index("ix_article_state_user_id_starred", "user_id", "starred", "article_id"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_user.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("article.id", ondelete="CASCADE"), primary_key=True
    )
    # The article's feed, copied: unread counts group by it without reading `article`.
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    read: Mapped[bool | None] = mapped_column(Boolean)
    starred: Mapped[bool] = mapped_column(Boolean, server_default=false())


# -- hidden per reader (migration 0012) -----------------------------------------------
class HiddenFeed(Base):
    """A feed one user has hidden from their own lists and apps (feeds stay shared)."""

    __tablename__ = "hidden_feed"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_user.id", ondelete="CASCADE"), primary_key=True
    )
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HiddenCategory(Base):
    """A category one user has hidden: every feed in it, now or later, is hidden for them."""

    __tablename__ = "hidden_category"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("reader_user.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("category.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# -- WebSub push (migration 0011) -----------------------------------------------------
class WebSubSubscription(Base):
    """One subscription of a feed at its hub (WebSub §5), and what its pushes did.

    No foreign key to the feed: when a feed is deleted its subscription must outlive it
    until the hub has confirmed the unsubscription (feed ids are never reused)."""

    __tablename__ = "websub_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed_id: Mapped[int] = mapped_column(Integer, index=True)
    hub: Mapped[str] = mapped_column(String(2048))
    topic: Mapped[str] = mapped_column(String(2048))
    # The unguessable last segment of the callback URL, new for every subscription.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    # pending | verified | denied | expired | unsubscribing
    state: Mapped[str] = mapped_column(String(16))
    # The mode feedhub asked the hub for and whose verification it awaits (None: none).
    pending_mode: Mapped[str | None] = mapped_column(String(16))
    lease_seconds: Mapped[int | None] = mapped_column(Integer)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the maintenance job next acts on it: renew, retry, or give up waiting.
    next_action_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # Pushes arrive and agree with the polls: the feed is polled at the safety interval.
    healthy: Mapped[bool] = mapped_column(Boolean, server_default=false())
    last_push_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pushes_received: Mapped[int] = mapped_column(Integer, server_default="0")
    pushes_rejected: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# -- Site icons (migration 0013) -------------------------------------------------------
class FeedIcon(Base):
    """A feed's site icon as the poller last fetched it, served by feedhub itself.

    One row per feed once its icon was tried: `data` is None while none was found, and
    `error` says why; `fetched_at` is the last attempt, success or not, so a failing
    site is asked again only on the icon schedule, never on every poll."""

    __tablename__ = "feed_icon"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True
    )
    # One of the sniffed image types (ingest.icons.sniff_image), never what the server said.
    content_type: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Hex SHA-256 of `data`: the strong ETag of GET /icons/feeds/{id}.
    sha256: Mapped[str | None] = mapped_column(String(64))
    # Where the icon came from, and the validator its server gave (a conditional refetch).
    source_url: Mapped[str | None] = mapped_column(String(2048))
    etag: Mapped[str | None] = mapped_column(String(500))
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
