"""One typed Settings object for the whole process (pydantic-settings, prefix SHIXUN_).

Every field is documented in `.env.example`; tests/core/test_settings.py keeps both in step.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app import PROJECT_ROOT

# The secret shipped in the code. Fine on a developer's laptop, refused anywhere else.
DEFAULT_SECRET = "shixun-development-secret-change-me"  # noqa: S105 (refused outside development)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHIXUN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.development
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    demo_mode: bool = False
    demo_media: bool = True  # seed-demo generates a short video and a picture book (needs ffmpeg)
    default_locale: str = "zh_CN"
    log_level: str = "INFO"
    log_format: str = Field(default="console", pattern="^(console|json)$")

    # Web processes started by `shixun serve` (more than one needs PostgreSQL).
    web_processes: int = Field(default=1, ge=1, le=64)
    # Run one job worker beside the web server in `shixun serve` (the embedded default).
    embedded_worker: bool = True

    # Sessions and sign-in.
    session_idle_minutes: int = Field(default=30, ge=1)
    kiosk_idle_minutes: int = Field(default=5, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    cookie_secure: bool | None = None
    api_token_minutes: int = Field(default=60, ge=1)
    # Who a session cookie or token belongs to is remembered in each web process for this long (0: off).
    # A change made in the same process (sign-out, revocation, roles) takes effect at once; one made by
    # another process within this many seconds.
    auth_cache_seconds: float = Field(default=30.0, ge=0, le=60)
    # Sign-in throttling (app/accounts/throttle.py): an account is locked against unknown clients, and a
    # device against everybody at it; an address (many kiosks behind one NAT) is only ever slowed down.
    login_max_failures: int = Field(default=10, ge=1)
    login_device_max_failures: int = Field(default=30, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    login_lock_minutes: int = Field(default=15, ge=1)
    login_address_free_failures: int = Field(default=100, ge=1)
    login_address_max_delay_seconds: int = Field(default=30, ge=1, le=300)
    # Addresses of reverse proxies whose X-Forwarded-For is believed (comma separated).
    trusted_proxies: str = "127.0.0.1"

    # Jobs.
    job_lease_seconds: int = Field(default=60, ge=5)
    job_poll_seconds: float = Field(default=1.0, gt=0)
    worker_stale_seconds: int = Field(default=120, ge=10)

    ffmpeg_binary: str = "ffmpeg"

    # Media (app/media): uploads, transcoding and serving.
    ffprobe_binary: str = "ffprobe"
    media_max_upload_bytes: int = Field(default=4 * 1024**3, ge=1)
    media_upload_chunk_bytes: int = Field(default=8 * 1024**2, ge=64 * 1024)
    media_upload_expire_hours: int = Field(default=48, ge=1)
    media_transcode_timeout_seconds: int = Field(default=6 * 3600, ge=60)
    media_ffmpeg_threads: int = Field(default=0, ge=0)
    # Serve media bytes through nginx: the app authorizes and answers with X-Accel-Redirect to this
    # internal location (deploy/nginx/shixun.conf). Empty: the app sends the bytes itself.
    media_accel_redirect_prefix: str = ""

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env == Environment.production:
            secret = self.secret_key.get_secret_value()
            if secret == DEFAULT_SECRET or len(secret) < 32:
                raise ValueError(
                    "SHIXUN_SECRET_KEY must be set to a random value of at least 32 characters "
                    "outside development (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            if self.demo_mode:
                raise ValueError("SHIXUN_DEMO_MODE must be off in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shixun.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.env == Environment.production

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.media_dir, self.data_dir / "keys"):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    return Settings()
