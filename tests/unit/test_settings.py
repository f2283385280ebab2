import pytest

from core.settings import SettingsError, load_settings


def test_defaults_come_from_the_config_file(monkeypatch):
    for name in ("DATABASE_URL", "AQI_DATABASE_URL", "PORT", "AQI_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url == "sqlite:///var/aqi.db"
    assert settings.port == 8050
    assert settings.pool_size == 30 and settings.max_overflow == 50


def test_environment_overrides_the_file(monkeypatch):
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/aqi")
    settings = load_settings()
    assert settings.port == 9123
    assert settings.database_url == "postgresql+psycopg://u@db/aqi"


def test_invalid_setting_names_the_setting(monkeypatch):
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SettingsError, match="port"):
        load_settings()


def test_unknown_database_scheme_is_refused(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/aqi")
    with pytest.raises(SettingsError, match="database_url"):
        load_settings()


def test_production_needs_a_secret_key(monkeypatch):
    monkeypatch.delenv("AQI_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="secret_key"):
        load_settings(environment="production")
    assert load_settings(environment="production", secret_key="s3cret").secret_key == "s3cret"
