"""SQLAlchemy 2 typed ORM models (DESIGN.md "Data model"). Every change is a migration."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = ["Article", "Base", "Category", "Feed", "Tombstone"]

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


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Category(Base):
    __tablename__ = "category"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    feeds: Mapped[list[Feed]] = relationship(back_populates="category")


class Feed(Base):
    __tablename__ = "feed"

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

    category: Mapped[Category] = relationship(back_populates="feeds")


class Article(Base):
    __tablename__ = "article"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid_key", name="uq_article_feed_guid_key"),
        Index("ix_article_feed_id_id", "feed_id", "id"),
        # Lists in publication order page on (listed_at, id) (issue 13).
        Index("ix_article_listed_at_id", "listed_at", "id"),
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
    # Issue 13 (migration 0007). Publication time clamped to arrival: what lists sort by.
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime)
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
