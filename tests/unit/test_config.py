"""Settings read from the environment."""

from __future__ import annotations

from feedhub.core.config import Settings


def test_admin_token_is_stripped_and_not_in_repr() -> None:
    settings = Settings.from_env({"FEEDHUB_ADMIN_TOKEN": "s3cret\n"})
    assert settings.admin_token == "s3cret"
    assert "s3cret" not in repr(settings)
