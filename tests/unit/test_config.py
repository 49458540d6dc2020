"""Settings read from the environment."""

from __future__ import annotations

import pytest

from feedhub.core.config import ConfigError, Settings
from feedhub.ingest.cadence import ScheduleLimits


def test_admin_token_is_stripped_and_not_in_repr() -> None:
    settings = Settings.from_env({"FEEDHUB_ADMIN_TOKEN": "s3cret\n"})
    assert settings.admin_token == "s3cret"
    assert "s3cret" not in repr(settings)


def test_the_adaptive_bound_reaches_the_schedule() -> None:
    default = ScheduleLimits.of(Settings())
    assert default.adaptive_max_interval == Settings().adaptive_max_poll_interval == 3600
    settings = Settings.from_env({"FEEDHUB_ADAPTIVE_MAX_POLL_INTERVAL": "1800"})
    assert ScheduleLimits.of(settings).adaptive_max_interval == 1800
    with pytest.raises(ConfigError, match="FEEDHUB_ADAPTIVE_MAX_POLL_INTERVAL"):
        Settings.from_env({"FEEDHUB_ADAPTIVE_MAX_POLL_INTERVAL": "0"})
