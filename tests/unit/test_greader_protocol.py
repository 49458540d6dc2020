"""Google Reader vocabulary, pure: ids, stream ids and parameters (table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedhub.greader import protocol
from feedhub.greader.protocol import Stream

BROADCAST = "user/-/state/com.google/broadcast"
KEPT = "user/-/state/com.google/kept-unread"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tag:google.com,2005:reader/item/000000000000000a", 10),
        ("tag:google.com,2005:reader/item/00000000000003e8", 1000),
        ("10", 10),
        ("  1000 ", 1000),
    ],
)
def test_item_ids_long_and_short(text: str, expected: int) -> None:
    assert protocol.parse_item_id(text) == expected


# "-1" is the signed short form of 2**64 - 1: beyond any article id.
@pytest.mark.parametrize(
    "text", ["", "abc", "0", "-1", "tag:google.com,2005:reader/item/zz", "1.5"]
)
def test_bad_item_ids(text: str) -> None:
    with pytest.raises(ValueError):
        protocol.parse_item_id(text)


def test_long_id_round_trip() -> None:
    for n in (1, 255, 123456789, 2**63 - 1):
        assert protocol.parse_item_id(protocol.long_id(n)) == n
        assert len(protocol.long_id(n)) == len(protocol.ITEM_PREFIX) + 16


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("user/-/state/com.google/reading-list", Stream("reading-list")),
        ("user/1234/state/com.google/reading-list", Stream("reading-list")),
        ("", Stream("reading-list")),
        ("/user/-/state/com.google/starred", Stream("starred")),
        ("user/-/state/com.google/read", Stream("read")),
        ("user/-/label/Tech", Stream("label", "Tech")),
        ("user/-/label/Science & Nature", Stream("label", "Science & Nature")),
        ("user%2F-%2Flabel%2FTech", Stream("label", "Tech")),
        ("feed/12", Stream("feed", "12")),
        ("feed/http://e.com/rss", Stream("feed", "http://e.com/rss")),
        ("feed%2Fhttp%3A%2F%2Fe.com%2Frss", Stream("feed", "http://e.com/rss")),
        (BROADCAST, Stream("ignored", BROADCAST)),
        (KEPT, Stream("ignored", KEPT)),
    ],
)  # fmt: skip
def test_stream_ids(raw: str, expected: Stream) -> None:
    assert protocol.parse_stream(raw) == expected


@pytest.mark.parametrize("raw", ["pop/x", "user/-/label/", "feed/", "splice/1", "user/-/state/x"])
def test_unknown_streams(raw: str) -> None:
    with pytest.raises(ValueError):
        protocol.parse_stream(raw)


def test_feed_id_only_for_numeric_feed_streams() -> None:
    assert Stream("feed", "12").feed_id == 12
    assert Stream("feed", "http://e.com/rss").feed_id is None
    assert Stream("label", "12").feed_id is None


@pytest.mark.parametrize(
    ("raw", "default", "maximum", "expected"),
    [(None, 20, 1000, 20), ("", 20, 1000, 20), ("5", 20, 1000, 5), ("5000", 20, 1000, 1000)],
)
def test_counts(raw: str | None, default: int, maximum: int, expected: int) -> None:
    assert protocol.parse_count(raw, default=default, maximum=maximum) == expected


@pytest.mark.parametrize("raw", ["0", "-3", "x"])
def test_bad_counts(raw: str) -> None:
    with pytest.raises(ValueError):
        protocol.parse_count(raw, default=20, maximum=1000)


MOMENT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        (str(int(MOMENT.timestamp())), MOMENT),  # seconds
        (str(int(MOMENT.timestamp()) * 1000), MOMENT),  # milliseconds
        (str(int(MOMENT.timestamp()) * 1_000_000), MOMENT),  # microseconds, the protocol's
    ],
)
def test_mark_all_time(raw: str | None, expected: datetime | None) -> None:
    assert protocol.parse_mark_time(raw) == expected


@pytest.mark.parametrize("raw", ["-1", "x", str(2**62)])
def test_bad_mark_times(raw: str) -> None:
    with pytest.raises(ValueError):
        protocol.parse_mark_time(raw)


def test_seconds_and_tags() -> None:
    assert protocol.parse_seconds(str(int(MOMENT.timestamp()))) == MOMENT
    assert protocol.parse_seconds(None) is None
    assert protocol.normalize_tag("user/01234/state/com.google/read") == protocol.READ
    assert protocol.item_categories("Tech", read=True, starred=False) == [
        protocol.READING_LIST,
        "user/-/label/Tech",
        protocol.READ,
    ]
