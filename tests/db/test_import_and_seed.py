"""Loading files (core.ingest.files.import_file) and simulated data (core.ingest.seed) into real databases.

PostgreSQL is the session database other tests share: there every file is a private copy of a fixture with
station ids of its own, loaded into a city of its own (so no seeded city gains stations; the real AirNow files
are from 2024, older than the seeded hours). SQLite is a fresh file per test and takes the fixture files as they are.
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
from core.ingest.files import ImportRejected, import_file, parse_file
from core.db.models import AirNowAQI
from core.ingest.seed import append_new_hours, seed
from core.ingest.store import ensure_cities
from core.ingest.tabular import ImportFormatError, decode
from tests.conftest import SEED_DAYS, SEED_END, SEED_STATIONS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPENAQ_CSV = "openaq_location-2178-20240101.csv"  # Albuquerque, -07:00, gases in ppm, 4 impossible lines
OPENAQ_GZ = "openaq_location-8118-20240101.csv.gz"  # New Delhi, +05:30, quoted, gases in µg/m³
AIRNOW_DAT = "airnow/HourlyData_2024041611.dat"  # real: 91 sites, 370 lines, UTC hour starts, Latin-1
AIRNOW_SITES = "airnow/monitoring_site_locations.dat"  # real: those sites' rows, one per site and parameter
AIRNOW_AQOBS = "airnow/HourlyAQObs_2024041611.dat"  # real: coordinates, values and AirNow's own AQI


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

    def openaq_code(self, location_id: str) -> str:
        return f"openaq-{self.tag}{location_id}"

    def airnow_code(self, aqsid: str) -> str:
        return f"airnow-{self.tag}{aqsid}"

    def fixture(self, name: str) -> Path:
        """The fixture file itself (SQLite) or a private copy of it (PostgreSQL)."""
        if not self.tag:
            return FIXTURES / name
        return self.write(name, fixture_lines(name))

    def write(self, name: str, lines: list[str]) -> Path:
        """A file named like `name` (gzipped when it ends .gz) from lines of the fixture's layout, made private."""
        lines = [self._private(name, line) for line in lines]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        path = self.tmp_path / Path(name).name
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
        if name.endswith("HourlyAQObs_2024041611.dat"):
            return line if line.startswith('"AQSID"') else f'"{self.tag}{line[1:]}'
        fields = line.split("|")
        aqsid = 0 if len(fields) == 23 else 2  # site locations start with the AQSID; HourlyData has it third
        fields[aqsid] = f"{self.tag}{fields[aqsid]}"
        return "|".join(fields)


def fixture_lines(name: str) -> list[str]:
    data = (FIXTURES / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return decode(data).splitlines()


@pytest.fixture(params=["postgresql", "sqlite"])
def target(request, tmp_path) -> Target:
    if request.param == "sqlite":
        return Target(request.getfixturevalue("sqlite_engine"), "sqlite", tmp_path)
    engine = request.getfixturevalue("pg_engine")
    tag = str(uuid.uuid4().int)[:9]
    city = f"Import test {tag}"
    with engine.begin() as conn:
        ensure_cities(conn, [{"name": city, "country": "", "timezone": "UTC", "lat": -80.0, "lon": 0.0}])
    return Target(engine, "postgresql", tmp_path, tag=tag, city=city)


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
    assert (summary.source, summary.lines_read, summary.loaded, summary.new_stations) == ("openaq", 17, 10, 1)
    assert summary.skipped == {"parameter temperature": 2, "parameter relativehumidity": 2}
    assert summary.conversions == ["o3: 3 values converted from ppm to ppb (×1000)",
                                   "no2: 2 values converted from ppm to ppb (×1000)"]
    # 01:00-07:00 is 08:00Z, the END of OpenAQ's hour: stored as the hour starting 07:00Z.
    h1, h2, h3 = hour("2024-01-01T07:00"), hour("2024-01-01T08:00"), hour("2024-01-01T09:00")
    assert rows_of(target.engine, code) == sorted([
        (code, "pm25", h1, 8.2, "µg/m³"), (code, "pm25", h2, -5.0, "µg/m³"),  # small negatives are noise, kept
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
    assert (summary.lines_read, summary.loaded, summary.new_stations) == (8, 6, 1)
    rows = {(p, ts): (v, u) for _, p, ts, v, u in rows_of(target.engine, code)}
    # 01:00+05:30 is 19:30Z the day before, the end of the hour: stored in the hour starting 18:00Z.
    first, second = hour("2023-12-31T18:00"), hour("2023-12-31T19:00")
    assert set(rows) == {("pm25", first), ("no2", first), ("so2", first), ("co", first), ("pm25", second),
                         ("no2", second)}  # -3.0 µg/m³ of NO2: noise near zero, kept
    assert rows[("pm25", first)] == (190.0, "µg/m³")  # two sensors in one hour: the last line wins
    assert rows[("pm25", second)] == (175.5, "µg/m³")
    value, unit = rows[("co", first)]
    assert unit == "ppm" and value == pytest.approx(1145.6 * 24.45 / 28.01 / 1000, abs=1e-6)
    value, unit = rows[("so2", first)]
    assert unit == "ppb" and value == pytest.approx(12.5 * 24.45 / 64.07, abs=1e-6)


def test_airnow_hourly_data_lands_as_utc_hour_starts_with_negatives_kept(target):
    summary = import_file(target.engine, target.fixture(AIRNOW_DAT), city=target.city)
    pei, trimmer, kuala = (target.airnow_code(a) for a in ("000020104", "840060199998", "458MY1010001"))
    assert (summary.source, summary.lines_read, summary.loaded, summary.new_stations) == ("airnow", 370, 203, 91)
    assert summary.rejected == [] and summary.skipped["parameter NO"] == 16 and "parameter TEMP" not in summary.skipped
    at_11 = hour("2024-04-16T11:00")  # the same UTC hour at -4 h, -8 h and +8 h
    rows = {(c, p): (ts, v, u) for c, p, ts, v, u in rows_of(target.engine, pei, trimmer, kuala)}
    assert rows[(pei, "pm25")] == (at_11, 3.5, "µg/m³")
    assert rows[(pei, "o3")] == (at_11, 24.0, "ppb")
    assert rows[(trimmer, "pm25")] == (at_11, -4.0, "µg/m³")
    assert rows[(kuala, "pm25")][0] == at_11
    stations = stations_of(target.engine, pei, trimmer)
    assert stations[pei]["lat"] is None  # the hourly file has no coordinates
    assert stations[pei]["name"] == "CHARLOTTETOWN" and stations[pei]["source"] == "airnow"


def test_a_newer_version_of_an_hour_replaces_its_values(target):
    lines = fixture_lines(AIRNOW_DAT)
    import_file(target.engine, target.write(AIRNOW_DAT, lines), city=target.city)
    revised = [line.replace("|PM2.5|UG/M3|3.5|", "|PM2.5|UG/M3|4.2|") for line in lines]
    import_file(target.engine, target.write(AIRNOW_DAT, revised), city=target.city)
    pei = target.airnow_code("000020104")
    pm25 = [(ts, v) for _, p, ts, v, _ in rows_of(target.engine, pei) if p == "pm25"]
    assert pm25 == [(hour("2024-04-16T11:00"), 4.2)]


def test_a_truncated_airnow_file_names_the_line_and_writes_nothing(target):
    path = target.tmp_path / "HourlyData_2024041611.dat"
    path.write_bytes(target.fixture(AIRNOW_DAT).read_bytes()[:-40])
    before = count(target.engine, Station), count(target.engine, Measurement)
    with pytest.raises(ImportFormatError, match=r"HourlyData_2024041611.dat, line 370: the file ends in the middle"):
        import_file(target.engine, path, city=target.city)
    assert (count(target.engine, Station), count(target.engine, Measurement)) == before


def test_hourly_aqobs_stores_airnow_aqi_beside_the_values(target):
    summary = import_file(target.engine, target.fixture(AIRNOW_AQOBS), city=target.city)
    assert (summary.new_stations, summary.published_aqi) == (91, 187)
    pei = target.airnow_code("000020104")
    station = stations_of(target.engine, pei)[pei]
    assert (station["lat"], station["lon"]) == (46.2406, -63.1306)
    with target.engine.connect() as conn:
        aqi = dict(conn.execute(select(AirNowAQI.parameter, AirNowAQI.aqi).join(Station, Station.id == AirNowAQI.station_id)
                                .where(Station.code == pei)).all())
    assert aqi == {"pm25": 15, "o3": 22, "no2": 0}
    again = import_file(target.engine, target.fixture(AIRNOW_AQOBS), city=target.city)
    assert (again.new_stations, again.published_aqi) == (0, 187)


def test_stations_go_to_the_city_given(target):
    if target.city is None:
        with target.engine.begin() as conn:
            ensure_cities(conn, [{"name": "Testville", "country": "", "timezone": "UTC", "lat": 0.0, "lon": 0.0}])
        target.city = "Testville"
    import_file(target.engine, target.fixture(OPENAQ_CSV), city=target.city)
    import_file(target.engine, target.fixture(AIRNOW_DAT), city=target.city)
    stations = stations_of(target.engine, target.openaq_code("2178"), target.airnow_code("000020104"))
    assert len(stations) == 2
    assert {s["city"] for s in stations.values()} == {target.city}


# --------------------------------------------------------------------------- import: again, rejected, broken


@pytest.mark.parametrize("name", [OPENAQ_CSV, OPENAQ_GZ, AIRNOW_DAT])
def test_importing_the_same_file_twice_keeps_one_row_per_station_parameter_and_hour(target, name):
    path = target.fixture(name)
    codes = [station.code for station in parse_file(path).stations]
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
        (12, "co value 900 ppm exceeds the physical maximum 200 ppm"),
        (16, "unit 'ppb' makes no sense for pm25"),
        (17, "pm10 value 'n/a' is not a number"),
    ]
    stored = {(p, ts) for _, p, ts, _, _ in rows_of(target.engine, target.openaq_code("2178"))}
    for parameter, ts in [("co", "2024-01-01T08:00"), ("pm25", "2024-01-01T09:00"),
                          ("pm10", "2024-01-01T09:00")]:
        assert (parameter, hour(ts)) not in stored
    assert len(stored) == summary.loaded == 10


def test_strict_import_with_rejected_lines_raises_and_writes_nothing(target):
    stations_before, measurements_before = count(target.engine, Station), count(target.engine, Measurement)
    with pytest.raises(ImportRejected, match=r"3 rejected line\(s\); nothing loaded: line 12: .*line 17: "):
        import_file(target.engine, target.fixture(OPENAQ_CSV), city=target.city, strict=True)
    assert stations_of(target.engine, target.openaq_code("2178")) == {}
    assert rows_of(target.engine, target.openaq_code("2178")) == []
    assert (count(target.engine, Station), count(target.engine, Measurement)) == (stations_before,
                                                                                    measurements_before)


def test_strict_import_of_a_clean_file_loads_it(target):
    rejected_lines = {12, 16, 17}
    lines = [line for n, line in enumerate(fixture_lines(OPENAQ_CSV), start=1) if n not in rejected_lines]
    summary = import_file(target.engine, target.write(OPENAQ_CSV, lines), city=target.city, strict=True)
    assert (summary.loaded, summary.rejected) == (10, [])
    assert len(rows_of(target.engine, target.openaq_code("2178"))) == 10


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
    assert stations_of(sqlite_engine, "openaq-2178")["openaq-2178"]["city"] == "Unassigned (openaq, UTC-07:00)"
    airnow = stations_of(sqlite_engine, "airnow-000020104", "airnow-840060199998", "airnow-458MY1010001")
    assert {code: s["city"] for code, s in airnow.items()} == {
        "airnow-000020104": "Unassigned (airnow, UTC-04:00)", "airnow-840060199998": "Unassigned (airnow, UTC-08:00)",
        "airnow-458MY1010001": "Unassigned (airnow, UTC+08:00)"}
    with sqlite_engine.connect() as conn:
        zones = dict(conn.execute(select(City.name, City.timezone)).all())
    assert zones["Unassigned (airnow, UTC-05:00)"] == "Etc/GMT+5"  # POSIX signs are inverted
    assert zones["Unassigned (airnow, UTC+08:00)"] == "Etc/GMT-8"
    assert zones["Unassigned (openaq, UTC-07:00)"] == "Etc/GMT+7"


# --------------------------------------------------------------------------- AirNow areas (SQLite)


def areas(engine: Engine) -> dict[str, tuple[str, str]]:
    """AirNow station code -> (city name, city time zone)."""
    query = select(Station.code, City.name, City.timezone).join(City, Station.city_id == City.id)
    with engine.connect() as conn:
        return {code: (name, zone) for code, name, zone in conn.execute(query)}


def test_site_locations_after_the_data_move_stations_into_their_areas(sqlite_engine):
    import_file(sqlite_engine, FIXTURES / AIRNOW_DAT)
    summary = import_file(sqlite_engine, FIXTURES / AIRNOW_SITES)
    assert (summary.new_stations, summary.moved_stations, summary.loaded) == (0, 91, 0)
    placed = areas(sqlite_engine)
    assert placed["airnow-484391006"] == ("Dallas-Fort Worth-Arlington, TX", "America/Chicago")
    assert placed["airnow-840390090003"] == ("Athens, OH", "America/New_York")
    assert not any(name.startswith("Unassigned") for name, _ in placed.values())
    with sqlite_engine.connect() as conn:  # the emptied placeholders are gone
        assert not [n for n in conn.execute(select(City.name)).scalars() if n.startswith("Unassigned")]
    station = stations_of(sqlite_engine, "airnow-484391006")["airnow-484391006"]
    assert (station["name"], station["lat"], station["lon"]) == ("Haws Athletic Center C310", 32.7592, -97.3414)


def test_site_locations_before_the_data_give_the_same_places(sqlite_engine, tmp_path):
    import_file(sqlite_engine, FIXTURES / AIRNOW_SITES)
    summary = import_file(sqlite_engine, FIXTURES / AIRNOW_DAT)
    assert (summary.new_stations, summary.loaded) == (0, 203)
    placed = areas(sqlite_engine)
    assert placed["airnow-484391006"] == ("Dallas-Fort Worth-Arlington, TX", "America/Chicago")
    # The data file's name is cut at 20 characters; the full one stays.
    assert stations_of(sqlite_engine, "airnow-484391006")["airnow-484391006"]["name"] == "Haws Athletic Center C310"


def test_site_metadata_lands_on_the_station(sqlite_engine):
    import_file(sqlite_engine, FIXTURES / AIRNOW_SITES)
    with sqlite_engine.connect() as conn:
        row = conn.execute(select(Station.__table__).where(Station.code == "airnow-484391006")).one()
    assert (row.agency, row.country, row.state, row.county, row.msa, row.utc_offset_hours, row.active) == (
        "Texas Commission on Environmental Quality", "US", "TX", "TARRANT", "Dallas-Fort Worth-Arlington, TX",
        -6.0, True)


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


def test_append_new_hours_adds_exactly_the_missing_hours_up_to_now(sqlite_ctx):
    sqlite_engine = sqlite_ctx.engine
    seed(sqlite_engine, 1, N_STATIONS, seed=7, end=T_END)
    before = count(sqlite_engine, Measurement)
    now = T_END + timedelta(hours=3)
    expected = simulator.simulate(T_END + timedelta(hours=1), now + timedelta(hours=1), n_stations=N_STATIONS,
                                  seed=7).measurements
    written = append_new_hours(sqlite_ctx, N_STATIONS, seed=7, now=now)
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


def test_append_new_hours_adds_nothing_when_up_to_date(sqlite_ctx):
    sqlite_engine = sqlite_ctx.engine
    seed(sqlite_engine, 1, N_STATIONS, seed=7, end=T_END)
    before = count(sqlite_engine, Measurement)
    assert append_new_hours(sqlite_ctx, N_STATIONS, seed=7, now=T_END) == 0
    assert append_new_hours(sqlite_ctx, N_STATIONS, seed=7, now=T_END - timedelta(hours=5)) == 0
    assert count(sqlite_engine, Measurement) == before


def test_append_new_hours_on_an_empty_database_adds_nothing(sqlite_ctx):
    sqlite_engine = sqlite_ctx.engine
    assert append_new_hours(sqlite_ctx, N_STATIONS, seed=7, now=T_END) == 0
    assert count(sqlite_engine, Measurement) == 0
