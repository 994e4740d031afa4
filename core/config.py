"""Configuration from environment variables prefixed `POSYANDU_`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    # An empty variable (`POSYANDU_DATABASE_URL= make run`) means "not set": the default,
    # not an empty URL that fails deep inside SQLAlchemy.
    model_config = SettingsConfigDict(env_prefix="POSYANDU_", env_file=".env", extra="ignore",
                                      env_ignore_empty=True)

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_VAR_DIR / 'posyandu.db'}",
        description="SQLAlchemy URL; SQLite file (embedded default) or postgresql://...",
    )
    secret_key: str | None = Field(
        default=None,
        description="JWT signing secret. When unset, one is generated on first run and "
        "stored in the database, so every worker shares it.",
    )
    access_token_minutes: int = 60 * 12
    base_url: str | None = Field(
        default=None,
        description="Public base URL (e.g. https://posyandu.example.go.id). When unset, "
        "URLs are built from the request.",
    )
    max_submission_bytes: int = Field(
        default=20 * 1024 * 1024,
        description="Largest OpenRosa submission body accepted (X-OpenRosa-Accept-Content-Length).",
    )
    log_json: bool = False
    log_level: str = "INFO"
    db_pool_size: int = 10
    submission_batch: int = Field(
        default=16, ge=1, le=500,
        description="Most submissions one API worker stores and processes in one transaction "
        "(group commit: submissions that arrive together share one commit).",
    )
    workers: int = Field(  # not validated here: `serve` says what is wrong with it
        default=1,
        description="API worker processes (`serve --workers`' default; `serve` sets it for "
        "its workers). With more than one, a worker holding more than two groups of "
        "submissions (2 x submission_batch) answers phones with `Connection: close`, so "
        "their next connection can go to a less busy worker "
        "(sync.writer.SubmissionWriter.crowded).",
    )
    basic_auth_cache_seconds: int = 60
    console_idle_minutes: int = Field(
        default=30, ge=1,
        description="The web console signs a user out after this long without a request.")
    identity_auto_link_score: float = Field(
        default=20.0,
        description="Identity resolution: a candidate scoring at least this (sum of log2 "
        "weights, matching.compare) is the same person and is linked automatically (the "
        "twin/sibling guards and scope can still send it to review).",
    )
    identity_review_score: float = Field(
        default=8.0,
        description="Identity resolution: from this score up to the auto-link score, the "
        "record is created and a duplicate candidate pair opened for a supervisor.",
    )
    raw_retention_days: int | None = Field(
        default=None, ge=1,
        description="Days a processed submission's raw XML and attachments are kept; after "
        "that `posyandu-sync retention run` purges or anonymises them (the records made from "
        "them stay). Unset: kept until an administrator sets a period.",
    )
    raw_retention_mode: str = Field(
        default="anonymise", pattern="^(anonymise|purge)$",
        description="anonymise: the identifying answers and the photos go, the measured values "
        "stay readable; purge: the raw XML and attachments go entirely.",
    )
    # ---------------------------------------------------------------- security
    login_max_failures: int = Field(
        default=10, ge=2, description="Failed sign-ins (JSON token or HTTP Basic) of one "
        "account within login_window_seconds before it is locked for login_lockout_seconds.")
    login_max_failures_per_address: int = Field(
        default=100, ge=2, description="The same, per client address (a puskesmas behind one "
        "NAT address has many kaders: keep this well above login_max_failures).")
    login_window_seconds: int = Field(default=900, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    password_verifications: int = Field(
        default=0, ge=0, description="Most argon2 verifications one worker runs at once "
        "(0: the number of CPUs); others wait up to password_queue_seconds, then 503.")
    password_queue_seconds: float = Field(default=2.0, ge=0)
    trust_forwarded_proto: bool = Field(
        default=False, description="Believe X-Forwarded-Proto (set it behind a TLS-terminating "
        "proxy): https requests then get Strict-Transport-Security.")
    hsts_seconds: int = Field(default=31536000, ge=0)
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the JSON API from a "
        "browser (CORS); none by default.")
    max_json_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest JSON or form body of the API "
        "(413 above); sync pushes may be larger: max_push_bytes.")
    max_push_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)


@lru_cache
def get_settings() -> Settings:
    return Settings()
