"""Configuration from environment variables prefixed `POSYANDU_`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POSYANDU_", env_file=".env", extra="ignore")

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


@lru_cache
def get_settings() -> Settings:
    return Settings()
