"""Loading files (core.ingest.files.import_file) and simulated data (core.ingest.seed) into real databases.

PostgreSQL is the session database other tests share: there every file is a private copy of a fixture with
station ids of its own, loaded into a city of its own (so no seeded city gains stations) and, for AirNow, moved
two years back (so the newest hour of the seeded data stays the newest). SQLite is a fresh file per test and
takes the fixture files as they are.
"""
from __future__ import annotations

import gzip
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from core.db.models import City, Measurement, Station, Weather
from core.db.queries import utc
from core.ingest import simulator
from core.ingest.files import ImportRejected, import_file
from core.ingest.importers import ImportFormatError
from core.ingest.seed import append_new_hours, seed
from core.ingest.store import ensure_cities
from tests.conftest import SEED_DAYS, SEED_END, SEED_STATIONS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPENAQ_CSV = "openaq_location-2178-20240101.csv"  # Albuquerque, -07:00, gases in ppm, 4 impossible lines
OPENAQ_GZ = "openaq_location-8118-20240101.csv.gz"  # New Delhi, +05:30, quoted, gases in µg/m³
AIRNOW_DAT = "airnow_HourlyData_2026112622.dat"  # local standard time, -999 missing, 2 impossible lines


def hour(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@dataclass
class Target:
    """A database to import into, with the fixture files as that database's tests should see them."""

    engine: Engine
    dialect: str
    tmp_path: Path
    tag: str = ""  # digits prefixed to the fixture's station ids ("" on SQLite)
    city: str | None = None  # passed as import_file(city=...); None on SQLite: the importer chooses
    airnow_year: int = 2026

    def openaq_code(self, location_id: str) -> str:
        return f"openaq-{self.tag}{location_id}"

    def airnow_code(self, aqsid: str) -> str:
        return f"airnow-{self.tag}{aqsid}"

    def airnow_hour(self, text: str) -> datetime:
        return hour(text).replace(year=self.airnow_year)

    def fixture(self, name: str) -> Path:
        """The fixture file itself (SQLite) or a private copy of it (PostgreSQL)."""
        if not self.tag:
            return FIXTURES / name
        return self.write(name, fixture_lines(name))

    def write(self, name: str, lines: list[str]) -> Path:
        """A file named like `name` (gzipped when it ends .gz) from lines of the fixture's layout, made private."""
        lines = [self._private(name, line) for line in lines]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        path = self.tmp_path / name
        path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        return path

    def _private(self, name: str, line: str) -> str:
        if not self.tag:
            return line
        if name.startswith("openaq"):
            first, sep, rest = line.partition(",")
            if first.strip('"').isdigit():
                quote = '"' if first.startswith('"') else ""
                first = f"{quote}{self.tag}{first.strip(chr(34))}{quote}"
            return first + sep + rest
        fields = line.split("|")
        if len(fields) == 9:
            month, day, _ = fields[0].split("/")
            fields[0] = f"{month}/{day}/{self.airnow_year % 100:02d}"
            fields[2] = f"{self.tag}{fields[2]}"
        return "|".join(fields)


def fixture_lines(name: str) -> list[str]:
    data = (FIXTURES / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8-sig").splitlines()


@pytest.fixture(params=["postgresql", "sqlite"])
def target(request, tmp_path) -> Target:
    if request.param == "sqlite":
        return Target(request.getfixturevalue("sqlite_engine"), "sqlite", tmp_path)
    engine = request.getfixturevalue("pg_engine")
    tag = str(uuid.uuid4().int)[:9]
    city = f"Import test {tag}"
    with engine.begin() as conn:
        ensure_cities(conn, [{"name": city, "country": "", "timezone": "UTC", "lat": -80.0, "lon": 0.0}])
    return Target(engine, "postgresql", tmp_path, tag=tag, city=city, airnow_year=2024)


def rows_of(engine: Engine, *codes: str) -> list[tuple]:
    """(code, parameter, UTC hour, value, unit) of the stations' stored measurements, sorted."""
    query = (select(Station.code, Measurement.parameter, Measurement.ts, Measurement.value, Measurement.unit)
             .join_from(Measurement, Station, Measurement.station_id == Station.id)
             .where(Station.code.in_(codes)))
    with engine.connect() as conn:
        return sorted((c, p, utc(ts), v, u) for c, p, ts, v, u in conn.execute(query))


def stations_of(engine: Engine, *codes: str) -> dict[str, dict]:
    query = (select(Station.code, Station.name, Station.lat, Station.lon, Station.source, Station.kind,
                    City.name.label("city"))
             .join_from(Station, City, Station.city_id == City.id).where(Station.code.in_(codes)))
    with engine.connect() as conn:
        return {r.code: dict(r._mapping) for r in conn.execute(query)}


def count(engine: Engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


# --------------------------------------------------------------------------- import: files land


def test_openaq_csv_lands_as_utc_hours_in_storage_units(target):
    summary = import_file(target.engine, target.fixture(OPENAQ_CSV), city=target.city)
    code = target.openaq_code("2178")
    assert (summary.source, summary.lines_read, summary.loaded, summary.new_stations) == ("openaq", 17, 9, 1)
    assert summary.skipped == {"parameter temperature": 2, "parameter relativehumidity": 2}
    assert summary.conversions == ["o3: 3 values converted from ppm to ppb (×1000)",
                                   "no2: 2 values converted from ppm to ppb (×1000)"]
    # 01:00-07:00 is 08:00Z, the END of OpenAQ's hour: stored as the hour starting 07:00Z.
    h1, h2, h3 = hour("2024-01-01T07:00"), hour("2024-01-01T08:00"), hour("2024-01-01T09:00")
    assert rows_of(target.engine, code) == sorted([
        (code, "pm25", h1, 8.2, "µg/m³"),
        (code, "pm10", h1, 14.0, "µg/m³"), (code, "pm10", h2, 12.0, "µg/m³"),
        (code, "o3", h1, 31.0, "ppb"), (code, "o3", h2, 29.0, "ppb"), (code, "o3", h3, 27.0, "ppb"),
        (code, "co", h1, 0.2, "ppm"),
        (code, "no2", h1, 12.5, "ppb"), (code, "no2", h2, 14.1, "ppb"),
    ])
    station = stations_of(target.engine, code)[code]
    assert (station["name"], station["lat"], station["lon"]) == ("Del Norte-2178", 35.1353, -106.584702)
    assert (station["source"], station["kind"]) == ("openaq", "reference")


def test_openaq_gzip_lands_with_half_hour_offset_floored_and_last_duplicate_kept(target):
    summary = import_file(target.engine, target.fixture(OPENAQ_GZ), city=target.city)
    code = target.openaq_code("8118")
    assert (summary.lines_read, summary.loaded, summary.new_stations) == (8, 5, 1)
    rows = {(p, ts): (v, u) for _, p, ts, v, u in rows_of(target.engine, code)}
    # 01:00+05:30 is 19:30Z the day before, the end of the hour: stored in the hour starting 18:00Z.
    first, second = hour("2023-12-31T18:00"), hour("2023-12-31T19:00")
    assert set(rows) == {("pm25", first), ("no2", first), ("so2", first), ("co", first), ("pm25", second)}
    assert rows[("pm25", first)] == (190.0, "µg/m³")  # two sensors in one hour: the last line wins
    assert rows[("pm25", second)] == (175.5, "µg/m³")
    value, unit = rows[("co", first)]
    assert unit == "ppm" and value == pytest.approx(1145.6 * 24.45 / 28.01 / 1000, abs=1e-6)
    value, unit = rows[("so2", first)]
    assert unit == "ppb" and value == pytest.approx(12.5 * 24.45 / 64.07, abs=1e-6)


def test_airnow_file_lands_with_local_standard_time_turned_to_utc(target):
    summary = import_file(target.engine, target.fixture(AIRNOW_DAT), city=target.city)
    la, ny, nl, ak = (target.airnow_code(a) for a in ("060371103", "360610135", "000010102", "840020900040"))
    assert (summary.source, summary.lines_read, summary.loaded) == ("airnow", 16, 7)
    assert summary.new_stations == 3  # Fairbanks has only a rejected line: no station for it
    assert summary.skipped["missing value (-999)"] == 2
    rows = rows_of(target.engine, la, ny, nl, ak)
    assert {(c, p): (ts, v, u) for c, p, ts, v, u in rows} == {
        (la, "pm25"): (target.airnow_hour("2026-11-26T22:00"), 12.3, "µg/m³"),  # 14:00 at -8
        (la, "o3"): (target.airnow_hour("2026-11-26T22:00"), 31.0, "ppb"),
        (la, "no2"): (target.airnow_hour("2026-11-26T22:00"), 18.4, "ppb"),
        (la, "co"): (target.airnow_hour("2026-11-26T22:00"), 0.41, "ppm"),
        (ny, "pm25"): (target.airnow_hour("2026-11-26T19:00"), 10.1, "µg/m³"),  # 14:00 at -5; last line wins
        (ny, "so2"): (target.airnow_hour("2026-11-26T19:00"), 1.2, "ppb"),
        (nl, "pm25"): (target.airnow_hour("2026-11-26T17:00"), 4.0, "µg/m³"),  # 17:30Z floored
    }
    stations = stations_of(target.engine, la, ny, nl, ak)
    assert set(stations) == {la, ny, nl}
    assert stations[la]["lat"] is None and stations[la]["lon"] is None  # the hourly file has no coordinates
    assert {s["source"] for s in stations.values()} == {"airnow"}


def test_stations_go_to_the_city_given(target):
    if target.city is None:
        with target.engine.begin() as conn:
            ensure_cities(conn, [{"name": "Testville", "country": "", "timezone": "UTC", "lat": 0.0, "lon": 0.0}])
        target.city = "Testville"
    import_file(target.engine, target.fixture(OPENAQ_CSV), city=target.city)
    import_file(target.engine, target.fixture(AIRNOW_DAT), city=target.city)
    stations = stations_of(target.engine, target.openaq_code("2178"), target.airnow_code("060371103"))
    assert len(stations) == 2
    assert {s["city"] for s in stations.values()} == {target.city}


# --------------------------------------------------------------------------- import: again, rejected, broken


@pytest.mark.parametrize("name", [OPENAQ_CSV, OPENAQ_GZ, AIRNOW_DAT])
def test_importing_the_same_file_twice_keeps_one_row_per_station_parameter_and_hour(target, name):
    path = target.fixture(name)
    codes = [target.openaq_code("2178"), target.openaq_code("8118")] + [
        target.airnow_code(a) for a in ("060371103", "360610135", "000010102", "840020900040")]
    first = import_file(target.engine, path, city=target.city)
    stored = rows_of(target.engine, *codes)
    stations = stations_of(target.engine, *codes)
    again = import_file(target.engine, path, city=target.city)
    assert again.loaded == first.loaded
    assert (first.new_stations > 0, again.new_stations) == (True, 0)
    assert rows_of(target.engine, *codes) == stored
    assert len(stored) == first.loaded
    assert len({(c, p, ts) for c, p, ts, _, _ in stored}) == len(stored)
    assert stations_of(target.engine, *codes) == stations


def test_rejected_lines_are_reported_by_line_number_and_not_loaded(target):
    summary = import_file(target.engine, target.fixture(OPENAQ_CSV), city=target.city)
    assert [(r.line, r.reason) for r in summary.rejected] == [
        (9, "pm25 value -5.0 µg/m³ is negative"),
        (12, "co value 900 ppm exceeds the physical maximum 200 ppm"),
        (16, "unit 'ppb' makes no sense for pm25"),
        (17, "pm10 value 'n/a' is not a number"),
    ]
    stored = {(p, ts) for _, p, ts, _, _ in rows_of(target.engine, target.openaq_code("2178"))}
    for parameter, ts in [("pm25", "2024-01-01T08:00"), ("co", "2024-01-01T08:00"), ("pm25", "2024-01-01T09:00"),
                          ("pm10", "2024-01-01T09:00")]:
        assert (parameter, hour(ts)) not in stored
    assert len(stored) == summary.loaded == 9


def test_airnow_rejections_name_their_lines(target):
    summary = import_file(target.engine, target.fixture(AIRNOW_DAT), city=target.city)
    assert [(r.line, r.reason) for r in summary.rejected] == [
        (14, "o3 value -2 ppb is negative"),
        (15, "pm25 value 2500 µg/m³ exceeds the physical maximum 2000 µg/m³"),
    ]


def test_strict_import_with_rejected_lines_raises_and_writes_nothing(target):
    stations_before, measurements_before = count(target.engine, Station), count(target.engine, Measurement)
    with pytest.raises(ImportRejected, match=r"4 rejected line\(s\); nothing loaded: line 9: .*line 17: "):
        import_file(target.engine, target.fixture(OPENAQ_CSV), city=target.city, strict=True)
    assert stations_of(target.engine, target.openaq_code("2178")) == {}
    assert rows_of(target.engine, target.openaq_code("2178")) == []
    assert (count(target.engine, Station), count(target.engine, Measurement)) == (stations_before,
                                                                                    measurements_before)


def test_strict_import_of_a_clean_file_loads_it(target):
    rejected_lines = {9, 12, 16, 17}
    lines = [line for n, line in enumerate(fixture_lines(OPENAQ_CSV), start=1) if n not in rejected_lines]
    summary = import_file(target.engine, target.write(OPENAQ_CSV, lines), city=target.city, strict=True)
    assert (summary.loaded, summary.rejected) == (9, [])
    assert len(rows_of(target.engine, target.openaq_code("2178"))) == 9


def test_a_malformed_file_raises_format_error_naming_the_line_and_writes_nothing(target):
    lines = fixture_lines(OPENAQ_CSV)
    lines[12] += ",surplus"  # line 13 gets a tenth field; every line before it is fine
    path = target.write(OPENAQ_CSV, lines)
    stations_before, measurements_before = count(target.engine, Station), count(target.engine, Measurement)
    with pytest.raises(ImportFormatError, match=r"line 13: expected 9 fields, found 10") as err:
        import_file(target.engine, path, city=target.city)
    assert err.value.line == 13
    assert stations_of(target.engine, target.openaq_code("2178")) == {}
    assert (count(target.engine, Station), count(target.engine, Measurement)) == (stations_before,
                                                                                    measurements_before)


def test_a_file_of_unknown_format_is_a_format_error(target):
    path = target.tmp_path / "notes.txt"
    path.write_text("just some words\nand more\n")
    with pytest.raises(ImportFormatError, match="unknown format"):
        import_file(target.engine, path, city=target.city)


def test_an_unknown_city_is_a_value_error_and_writes_nothing(target):
    stations_before, cities_before = count(target.engine, Station), count(target.engine, City)
    with pytest.raises(ValueError, match="no city named 'Atlantis'"):
        import_file(target.engine, target.fixture(OPENAQ_GZ), city="Atlantis")
    assert stations_of(target.engine, target.openaq_code("8118")) == {}
    assert (count(target.engine, Station), count(target.engine, City)) == (stations_before, cities_before)


# --------------------------------------------------------------------------- import: choosing a city (SQLite)


def test_a_station_near_a_known_city_joins_it(sqlite_engine):
    with sqlite_engine.begin() as conn:
        ensure_cities(conn, [{"name": "Delhi", "country": "IN", "timezone": "Asia/Kolkata",
                              "lat": 28.6139, "lon": 77.2090}])
    import_file(sqlite_engine, FIXTURES / OPENAQ_GZ)
    assert stations_of(sqlite_engine, "openaq-8118")["openaq-8118"]["city"] == "Delhi"
    assert count(sqlite_engine, City) == 1


def test_a_station_far_from_every_city_goes_to_an_unassigned_city_of_its_source(sqlite_engine):
    with sqlite_engine.begin() as conn:
        ensure_cities(conn, [{"name": "Delhi", "country": "IN", "timezone": "Asia/Kolkata",
                              "lat": 28.6139, "lon": 77.2090}])
    import_file(sqlite_engine, FIXTURES / OPENAQ_CSV)
    import_file(sqlite_engine, FIXTURES / AIRNOW_DAT)  # no coordinates: no nearest city either
    assert stations_of(sqlite_engine, "openaq-2178")["openaq-2178"]["city"] == "Unassigned (openaq)"
    airnow = stations_of(sqlite_engine, "airnow-060371103", "airnow-360610135", "airnow-000010102")
    assert {s["city"] for s in airnow.values()} == {"Unassigned (airnow)"}
    with sqlite_engine.connect() as conn:
        names = set(conn.execute(select(City.name)).scalars())
    assert names == {"Delhi", "Unassigned (openaq)", "Unassigned (airnow)"}


# --------------------------------------------------------------------------- seed

T_END = datetime(2025, 6, 1, 12, tzinfo=timezone.utc)
N_STATIONS = 6


def measured_hours(engine: Engine) -> list[datetime]:
    with engine.connect() as conn:
        return sorted(utc(ts) for ts in conn.execute(select(Measurement.ts).distinct()).scalars())


def test_seed_loads_every_city_the_stations_and_each_hour_up_to_the_end(sqlite_engine):
    totals = seed(sqlite_engine, 1, N_STATIONS, seed=7, end=T_END)
    cities, stations = simulator.network(n_stations=N_STATIONS, seed=7)
    assert (totals["cities"], totals["stations"]) == (len(cities), N_STATIONS)
    assert (count(sqlite_engine, City), count(sqlite_engine, Station)) == (len(cities), N_STATIONS)
    assert count(sqlite_engine, Measurement) == totals["measurements"] > 0
    assert count(sqlite_engine, Weather) == totals["weather"] == 24 * len(cities)
    # one day ending with (and including) the end hour
    assert measured_hours(sqlite_engine) == [T_END - timedelta(hours=h) for h in range(23, -1, -1)]
    with sqlite_engine.connect() as conn:
        codes = set(conn.execute(select(Station.code)).scalars())
    assert codes == {s.code for s in stations}


def test_seeding_the_same_range_twice_gives_the_same_rows(sqlite_engine):
    first = seed(sqlite_engine, 2, N_STATIONS, seed=7, end=T_END)
    rows = count(sqlite_engine, Measurement), count(sqlite_engine, Weather)
    second = seed(sqlite_engine, 2, N_STATIONS, seed=7, end=T_END)
    assert second == first
    assert (count(sqlite_engine, Measurement), count(sqlite_engine, Weather)) == rows
    assert (count(sqlite_engine, City), count(sqlite_engine, Station)) == (first["cities"], N_STATIONS)


def test_seeding_the_session_postgres_range_again_changes_nothing(seeded_pg):
    # The same call as the seeded_pg fixture: identical data through PostgreSQL's upsert path.
    def totals():
        with seeded_pg.connect() as conn:
            measurements = conn.execute(
                select(func.count()).select_from(Measurement)
                .join_from(Measurement, Station, Measurement.station_id == Station.id)
                .where(Station.source == "simulator")).scalar_one()
            return measurements, conn.execute(select(func.count()).select_from(Station)
                                              .where(Station.source == "simulator")).scalar_one()

    before = totals()
    again = seed(seeded_pg, SEED_DAYS, SEED_STATIONS, seed=42, end=SEED_END)
    assert totals() == before
    assert before[1] == again["stations"] == SEED_STATIONS
    assert again["measurements"] == before[0]


# --------------------------------------------------------------------------- append_new_hours


def test_append_new_hours_adds_exactly_the_missing_hours_up_to_now(sqlite_engine):
    seed(sqlite_engine, 1, N_STATIONS, seed=7, end=T_END)
    before = count(sqlite_engine, Measurement)
    now = T_END + timedelta(hours=3)
    expected = simulator.simulate(T_END + timedelta(hours=1), now + timedelta(hours=1), n_stations=N_STATIONS,
                                  seed=7).measurements
    written = append_new_hours(sqlite_engine, N_STATIONS, seed=7, now=now)
    assert written == len(expected) > 0
    assert count(sqlite_engine, Measurement) == before + written
    hours = measured_hours(sqlite_engine)
    assert hours[-4:] == [T_END + timedelta(hours=h) for h in range(4)]
    assert len(hours) == 24 + 3
    new = [r for r in rows_of(sqlite_engine, *(s.code for s in simulator.network(N_STATIONS, seed=7)[1]))
           if r[2] > T_END]
    assert new == sorted(
        (str(c), str(p), ts.to_pydatetime(), float(v), str(u))
        for c, p, ts, v, u in expected[["station_code", "parameter", "ts", "value", "unit"]].itertuples(index=False))


def test_append_new_hours_adds_nothing_when_up_to_date(sqlite_engine):
    seed(sqlite_engine, 1, N_STATIONS, seed=7, end=T_END)
    before = count(sqlite_engine, Measurement)
    assert append_new_hours(sqlite_engine, N_STATIONS, seed=7, now=T_END) == 0
    assert append_new_hours(sqlite_engine, N_STATIONS, seed=7, now=T_END - timedelta(hours=5)) == 0
    assert count(sqlite_engine, Measurement) == before


def test_append_new_hours_on_an_empty_database_adds_nothing(sqlite_engine):
    assert append_new_hours(sqlite_engine, N_STATIONS, seed=7, now=T_END) == 0
    assert count(sqlite_engine, Measurement) == 0
