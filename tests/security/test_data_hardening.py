"""The low-severity items: CSV formulas, settings pasted into headers and libpq options, absolute paths in
answers, gzip bombs, and the metrics window that never matched."""
import base64
import gzip
import uuid

import httpx
import pytest

from core.export import csv_chunks
from core.ingest import tabular
from core.ingest.tabular import ImportFormatError, read_text
from core.settings import SettingsError, load_settings
from core.users import create_user

PASSWORD = "correct horse battery"


def test_text_cells_that_would_run_as_formulas_are_made_inert():
    rows = [["=HYPERLINK(\"http://x\")", "+1", "-cmd", "@SUM(A1)", -1.5, 0, "Delhi - North"]]
    text = "".join(csv_chunks(["a", "b", "c", "d", "e", "f", "g"], [rows]))
    assert text.splitlines()[1] == """"'=HYPERLINK(""http://x"")",'+1,'-cmd,'@SUM(A1),-1.5,0,Delhi - North"""


@pytest.mark.parametrize("overrides", [
    {"embed_allowed_origins": "'self'; script-src *"},
    {"embed_allowed_origins": "https://portal.example.org,https://x.org"},
    {"pg_work_mem": "16MB -c statement_timeout=0"},
    {"pg_effective_cache_size": "4GB' -c jit=on"},
])
def test_settings_pasted_into_headers_or_libpq_options_are_refused(overrides):
    with pytest.raises(SettingsError, match=next(iter(overrides))):
        load_settings(**overrides)


def test_good_origins_and_sizes_are_kept():
    settings = load_settings(embed_allowed_origins="'self' https://portal.example.org https://*.city.gov:8443",
                             pg_work_mem="64kB", pg_effective_cache_size="8GB")
    assert settings.embed_allowed_origins.endswith(":8443") and settings.pg_work_mem == "64kB"


def test_readiness_and_the_forecast_503_name_no_absolute_path(live_server, pg_settings):
    base = live_server()
    ready = httpx.get(f"{base}/readyz")
    forecast = httpx.get(f"{base}/api/v1/stations/1/forecast")
    assert forecast.status_code == 503 and "train" in forecast.json()["error"]["message"]
    for text in (ready.text, forecast.text):
        assert pg_settings.forecast_model_dir not in text and "/tmp/" not in text


def test_a_gzip_bomb_stops_at_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(tabular, "MAX_DECOMPRESSED_BYTES", 1 << 20)  # the real cap is 512 MB: same code path
    bomb = tmp_path / "openaq.csv.gz"
    bomb.write_bytes(gzip.compress(b"0" * (8 << 20)))
    assert bomb.stat().st_size < 64 << 10
    with pytest.raises(ImportFormatError, match="unpacks to more than 1 MB"):
        read_text(bomb)
    small = tmp_path / "small.csv.gz"
    small.write_bytes(gzip.compress(b"location_id,sensors_id\n"))
    assert read_text(small) == "location_id,sensors_id\n"


def test_the_metrics_window_takes_300_and_3600(live_server, seeded_pg):
    name = f"operator-{uuid.uuid4().hex[:6]}"
    create_user(seeded_pg, name, "operator", PASSWORD)
    auth = {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}
    base = live_server()
    for window in (300, 3600):
        response = httpx.get(f"{base}/api/v1/metrics?window={window}", headers=auth)
        assert response.status_code == 200 and response.json()["window_s"] == window
    wrong = httpx.get(f"{base}/api/v1/metrics?window=301", headers=auth)
    assert wrong.status_code == 400 and "300, 3600" in wrong.json()["error"]["message"]
