"""Every setting, from the environment or `.env` (see `.env.example`).

pydantic-settings validates types and reads `.env`; secrets are `SecretStr` so that a
repr, a log line or a traceback never shows them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Storage and delivery
    episode_bot_db: Path = Field(Path("episode-bot.db"), description="SQLite database file")
    episode_bot_grace_hours: float = Field(12.0, gt=0, description="catch-up grace window")
    episode_bot_log_level: str = "INFO"

    # Discord
    discord_token: SecretStr | None = None
    discord_application_id: int | None = None
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    # The channel permission a member needs to (un)subscribe a channel.
    discord_subscribe_permission: str = "manage_channels"

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # xapp-…: Socket Mode
    slack_signing_secret: SecretStr | None = None  # HTTP mode
    slack_port: int = 3000
    slack_api_base: str | None = None
    slack_admin_user_ids: str = ""  # comma-separated user ids with admin rights

    # Seconds without a heartbeat after which another `run` may take over the delivery lease.
    episode_bot_lease_seconds: float = Field(30.0, ge=3, le=3600)

    @field_validator(
        "discord_token",
        "discord_application_id",
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "discord_api_base",
        "discord_gateway_url",
        "slack_api_base",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` copied as is leaves `DISCORD_TOKEN=`: that means "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def slack_admins(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.slack_admin_user_ids.split(",") if u.strip())

    @property
    def discord_enabled(self) -> bool:
        return self.discord_token is not None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None
