"""Every setting, from the environment or `.env` (see `.env.example`).

pydantic-settings validates types and reads `.env`; secrets are `SecretStr` so that a
repr, a log line or a traceback never shows them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def setting_errors(error: ValidationError) -> str:
    """pydantic's errors as one line naming the environment variables (the field names in
    upper case), never the values: a secret must not be echoed."""
    problems = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "a setting"
        problems.append(f"{name}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(problems)


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
    # Comma-separated user ids who may make a subscription ping a user group (`--mention`)
    # without being admins; admins always may.
    slack_mention_user_ids: str = ""

    # Web server (calendar feeds and pages, /status, /healthz, /metrics); port 0: off
    episode_bot_web_host: str = "127.0.0.1"
    episode_bot_web_port: int = Field(8080, ge=0, le=65535)
    # Bearer token for /status; unset: the page is off
    episode_bot_operator_token: SecretStr | None = None
    # Public address the printed feed URLs start with, e.g. https://episodes.example.org
    # (behind a reverse proxy); unset: the server's own http://HOST:PORT
    episode_bot_public_url: str | None = None
    # Schedule sources (TVmaze, iCalendar feeds)
    tvmaze_api_base: str = "https://api.tvmaze.com"
    # How often `run` asks TVmaze which shows changed (/updates/shows).
    episode_bot_sources_updates_hours: float = Field(1.0, gt=0)
    # Each linked show is refreshed once this long before its next drop.
    episode_bot_sources_before_drop_hours: float = Field(6.0, ge=0)
    # How often `run` re-reads iCalendar feeds (conditional requests).
    episode_bot_ical_refresh_hours: float = Field(1.0, gt=0)
    # Who to contact about this bot: sent in the User-Agent (a URL or an e-mail address).
    episode_bot_sources_contact: str = ""
    # First wait before retrying a source that answered 5xx or timed out (doubles each time).
    episode_bot_sources_backoff_seconds: float = Field(2.0, ge=0)
    # Platform limits the fan-out keeps to (raised limits: set them here)
    discord_global_rate: float = Field(
        50.0, gt=0, description="Discord global limit, requests/s (every request of the bot)"
    )
    slack_post_rate: float = Field(20.0, gt=0, description="chat.postMessage calls/s, overall")
    slack_channel_interval: float = Field(
        1.0, ge=0, description="seconds between two posts to one Slack channel"
    )
    slack_history_per_minute: float = Field(
        50.0, gt=0, description="conversations.history calls/minute (Tier 3; 1 outside it)"
    )
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
        "episode_bot_operator_token",
        "episode_bot_public_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` copied as is leaves `DISCORD_TOKEN=`: that means "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("episode_bot_log_level", mode="before")
    @classmethod
    def _known_log_level(cls, value: object) -> object:
        level = str(value).strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"not a log level; use one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator(
        "discord_api_base", "slack_api_base", "tvmaze_api_base", "episode_bot_public_url"
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        # One rule for every base URL: http(s) in any case, surrounding whitespace dropped.
        if value is not None and not value.strip().lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.strip() if value is not None else None

    @field_validator("discord_gateway_url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().lower().startswith(("ws://", "wss://")):
            raise ValueError("must be a wss:// (or ws://) URL")
        return value.strip() if value is not None else None

    @field_validator(
        "discord_token", "slack_bot_token", "slack_app_token", "slack_signing_secret",
        "episode_bot_operator_token",
        mode="before",
    )  # fmt: skip
    @classmethod
    def _one_clean_word(cls, value: object) -> object:
        # A token goes into HTTP headers: a line break inside would be refused there with a
        # traceback (or inject a header). Surrounding whitespace from a copied line is fine.
        if not isinstance(value, str):
            return value
        token = value.strip()
        if any(ch in "\r\n" for ch in token):
            raise ValueError("contains a line break; copy the value again, on one line")
        if any(ch.isspace() or not ch.isprintable() for ch in token):
            raise ValueError("contains a space or control character; copy the value again")
        return token

    @field_validator("episode_bot_operator_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # A short operator token could be guessed; say so at start-up, not after a breach.
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("episode_bot_public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("episode_bot_sources_contact")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # It goes into the User-Agent header, where a line break is refused (or injects one).
        if any(not ch.isprintable() for ch in value):
            raise ValueError("contains a line break or control character; write it on one line")
        return value.strip()

    @property
    def web_enabled(self) -> bool:
        return self.episode_bot_web_port != 0

    @property
    def public_base_url(self) -> str:
        """Where readers reach the web server: the setting, else the server's own address."""
        if self.episode_bot_public_url:
            return self.episode_bot_public_url
        host = self.episode_bot_web_host
        if host in ("", "0.0.0.0", "::"):  # listening everywhere: this machine's name works
            host = "localhost"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.episode_bot_web_port}"

    @property
    def slack_admins(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.slack_admin_user_ids.split(",") if u.strip())

    @property
    def slack_mention_users(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.slack_mention_user_ids.split(",") if u.strip())
