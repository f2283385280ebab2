"""AirNow ingest into PostgreSQL at scale: 5,000 stations × 6 pollutants an hour, beside a plain COPY of the rows.

Figures: one hour and one day through `import_file` (targets < 1 s and < 10 s) against a bare COPY of the
same parsed rows, and the process's resident memory over a week's backfill (168 hour files through
`fetch airnow-files` from a local folder laid out like AirNow's archive), which must stay flat.
With AQI_BENCH_AIRNOW_DIR pointing at a day of real files (HourlyData_*.dat, monitoring_site_locations.dat,
HourlyAQObs_*.dat), also the agreement of our PM2.5 NowCast AQI with AirNow's at each HourlyAQObs hour.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import header
from core import feeds
from core.db import migrate
from core.db.engine import make_engine
from core.feeds.airnow_files import day_folder
from core.ingest.airnow_check import pm25_agreement
from core.ingest.files import import_file, parse_file
from core.settings import load_settings

BASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "airnow"
STATIONS = 5000
POLLUTANTS = ("PM2.5", "OZONE", "NO2", "CO", "SO2", "PM10")
START = datetime(2024, 4, 9, tzinfo=timezone.utc)  # a week of hours ending 2024-04-15 23:00


def real_lines() -> tuple[dict[str, list[list[str]]], list[list[str]]]:
    """The sample's pollutant lines by parameter, and one site-locations row per site."""
    by_parameter: dict[str, list[list[str]]] = {p: [] for p in POLLUTANTS}
    for line in (FIXTURES / "HourlyData_2024041611.dat").read_bytes().decode("latin-1").splitlines():
        fields = line.split("|")
        if fields[5] in by_parameter:
            by_parameter[fields[5]].append(fields)
    sites, seen = [], set()
    for line in (FIXTURES / "monitoring_site_locations.dat").read_bytes().decode("latin-1").splitlines():
        fields = line.split("|")
        if fields[0] not in seen:
            seen.add(fields[0])
            sites.append(fields)
    return by_parameter, sites


def synthetic_sites(directory: Path, sites: list[list[str]]) -> None:
    """A monitoring_site_locations.dat for the STATIONS synthetic sites, each a real site's row renamed."""
    out = []
    for n in range(STATIONS):
        fields = list(sites[n % len(sites)])
        fields[0] = f"B{n:08d}"
        out.append("|".join(fields))
    (directory / "monitoring_site_locations.dat").write_bytes(("\r\n".join(out) + "\r\n").encode("latin-1"))


def synthetic_hour(hour: datetime, directory: Path, by_parameter: dict[str, list[list[str]]],
                   sites: list[list[str]]) -> Path:
    """An hour file with every synthetic site's six pollutants, values taken from real lines of that pollutant.

    Each line carries its site's name (cut at 20 characters, as AirNow does) and GMT offset, as real files do.
    """
    out = []
    offset = int((hour - START).total_seconds() // 3600)
    for n in range(STATIONS):
        site = sites[n % len(sites)]
        for parameter in POLLUTANTS:
            lines = by_parameter[parameter]
            fields = list(lines[(n + offset) % len(lines)])
            fields[:5] = [f"{hour:%m/%d/%y}", f"{hour:%H}:00", f"B{n:08d}", site[3][:20], site[11]]
            out.append("|".join(fields))
    path = directory / f"HourlyData_{hour:%Y%m%d%H}.dat"
    path.write_bytes(("\r\n".join(out) + "\r\n").encode("latin-1"))
    return path


def archive(root: Path, hours: list[datetime]) -> None:
    """A folder laid out like AirNow's archive: each day's hour files with that day's site locations."""
    by_parameter, sites = real_lines()
    for hour in hours:
        day = Path(day_folder(str(root), hour))
        if not day.exists():
            day.mkdir(parents=True)
            synthetic_sites(day, sites)
        synthetic_hour(hour, day, by_parameter, sites)


def copy_seconds(engine, path: Path) -> float:
    """Seconds for a plain COPY of the file's parsed rows into a bare table (the floor of any loader)."""
    frame = parse_file(path).measurements
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE plain (code text, parameter text, ts timestamptz, value float8, "
                          "unit text, quality int2) ON COMMIT DROP"))
        start = time.perf_counter()
        with conn.connection.driver_connection.cursor().copy("COPY plain FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row(row)
        return time.perf_counter() - start


def private_engine(name: str):
    base = make_url(BASE_URL)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(load_settings(database_url=base.set(database=name).render_as_string(False)))
    migrate.upgrade(engine)
    return engine, admin


def drop(engine, admin, name: str) -> None:
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="aqi_bench_ingest_"))
    try:
        hours = [START + timedelta(hours=h) for h in range(168)]
        archive(work, hours)
        name = f"aqi_bench_ingest_{uuid.uuid4().hex[:6]}"
        engine, admin = private_engine(name)
        try:
            one_hour_and_day(engine, work, hours[:24])
        finally:
            drop(engine, admin, name)
        name = f"aqi_bench_backfill_{uuid.uuid4().hex[:6]}"
        engine, admin = private_engine(name)
        try:
            week_backfill(engine, work, hours)
        finally:
            drop(engine, admin, name)
        real = os.environ.get("AQI_BENCH_AIRNOW_DIR")
        if real:
            name = f"aqi_bench_agreement_{uuid.uuid4().hex[:6]}"
            engine, admin = private_engine(name)
            try:
                agreement(engine, Path(real))
            finally:
                drop(engine, admin, name)
        else:
            print("AQI_BENCH_AIRNOW_DIR not set: no whole-day agreement figure")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def one_hour_and_day(engine, work: Path, hours: list[datetime]) -> None:
    header(f"AirNow ingest (PostgreSQL): {STATIONS:,} stations × {len(POLLUTANTS)} pollutants an hour")
    files = [Path(day_folder(str(work), h)) / f"HourlyData_{h:%Y%m%d%H}.dat" for h in hours]
    import_file(engine, files[0].parent / "monitoring_site_locations.dat")
    now = hours[-1] + timedelta(hours=1)
    start = time.perf_counter()
    summary = import_file(engine, files[0], now=now)
    one = time.perf_counter() - start
    plain = copy_seconds(engine, files[0])
    print(f"one hour, {summary.lines_read:,} lines, {summary.loaded:,} rows: {one:.3f} s (target < 1 s); "
          f"plain COPY {plain:.3f} s; ratio {one / plain:.1f}×")
    start = time.perf_counter()
    rows = summary.loaded + sum(import_file(engine, path, now=now).loaded for path in files[1:])
    day = one + time.perf_counter() - start
    plain_day = plain + sum(copy_seconds(engine, path) for path in files[1:])
    print(f"a day, {rows:,} rows: {day:.2f} s (target < 10 s); plain COPY {plain_day:.2f} s; "
          f"ratio {day / plain_day:.1f}×")
    again = time.perf_counter()
    import_file(engine, files[-1], now=now)
    print(f"re-importing an hour (revision, all upserts): {time.perf_counter() - again:.3f} s")


def week_backfill(engine, work: Path, hours: list[datetime]) -> None:
    header("A week's backfill through `fetch airnow-files` (local archive): resident memory")
    settings = load_settings(database_url=engine.url.render_as_string(False), airnow_files_url=str(work))
    process = psutil.Process()

    def mib() -> float:
        return process.memory_info().rss / 2**20

    start_rss, start, rows, after = mib(), time.perf_counter(), 0, {}
    for day in range(7):
        first, last = hours[day * 24], hours[day * 24 + 23]
        report = feeds.fetch(engine, settings, "airnow-files", start=first, end=last, now=last + timedelta(hours=1))
        rows += report.rows
        after[day + 1] = mib()
    seconds = time.perf_counter() - start
    print(f"168 hours, {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s)")
    print(f"RSS: start {start_rss:.0f} MiB, after day 1 {after[1]:.0f} MiB, after day 7 {after[7]:.0f} MiB "
          f"(day 7 / day 1: {after[7] / after[1]:.2f}×)")


def agreement(engine, directory: Path) -> None:
    """Load a real day and print our PM2.5 NowCast AQI agreement with AirNow's at every HourlyAQObs hour."""
    header("PM2.5 NowCast AQI against AirNow's, a real day")
    sites = directory / "monitoring_site_locations.dat"
    if sites.exists():
        import_file(engine, sites)
    for path in sorted(directory.glob("HourlyData_*.dat")):
        import_file(engine, path)
    total = equal = 0
    for path in sorted(directory.glob("HourlyAQObs_*.dat")):
        import_file(engine, path)
        hour = datetime.strptime(path.stem.split("_")[1], "%Y%m%d%H").replace(tzinfo=timezone.utc)
        with engine.connect() as conn:
            result = pm25_agreement(conn, hour)
        total, equal = total + result.sites, equal + result.equal
        print(f"{hour:%Y-%m-%d %H}:00Z  {result.equal}/{result.sites} sites agree ({result.share:.1%})")
    if total:
        print(f"whole day: {equal}/{total} site-hours agree ({equal / total:.1%})")


if __name__ == "__main__":
    main()
