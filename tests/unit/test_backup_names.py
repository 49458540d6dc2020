"""Names of the backups a command takes by itself: unique within one second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feedhub.db.backup import backup_name


def test_backups_taken_within_one_second_get_different_names() -> None:
    now = datetime(2026, 12, 7, 1, 2, 3, 400, tzinfo=UTC)
    later = now + timedelta(microseconds=1)
    first = backup_name(now, "before-restore", precise=True)
    assert first == "feedhub-before-restore-20261207T010203.000400Z.db"
    assert first != backup_name(later, "before-restore", precise=True)
    assert sorted([backup_name(later, precise=True), backup_name(now, precise=True)])[0] == (
        backup_name(now, precise=True)
    )
    assert backup_name(now) == "feedhub-backup-20261207T010203Z.db"
