"""Settings from the environment: an empty variable is the default, not an empty value."""

from core.config import DEFAULT_VAR_DIR, Settings


def test_an_empty_variable_means_the_default(monkeypatch):
    monkeypatch.setenv("POSYANDU_DATABASE_URL", "")
    monkeypatch.setenv("POSYANDU_BASE_URL", "")
    settings = Settings(_env_file=None)
    assert settings.database_url == f"sqlite:///{DEFAULT_VAR_DIR / 'posyandu.db'}"
    assert settings.base_url is None


def test_a_set_variable_is_taken(monkeypatch):
    monkeypatch.setenv("POSYANDU_DATABASE_URL", "postgresql://postgres@db/posyandu")
    assert Settings(_env_file=None).database_url == "postgresql://postgres@db/posyandu"
