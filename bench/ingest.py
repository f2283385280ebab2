"""AirNow ingest into PostgreSQL: one hour (~8,000 lines) and a day, beside a plain COPY of the same rows.

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

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.common import header
from core.db import migrate
from core.db.engine import make_engine
from core.ingest.airnow_check import pm25_agreement
from core.ingest.files import import_file, parse_file
from core.settings import load_settings

BASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "airnow" / "HourlyData_2024041611.dat"
LINES_PER_HOUR = 8000


def synthetic_hour(hour: datetime, directory: Path) -> Path:
    """An hour file of real lines repeated with new AQSIDs until it holds LINES_PER_HOUR lines."""
    lines = SAMPLE.read_bytes().decode("latin-1").splitlines()
    out = []
    for copy in range(LINES_PER_HOUR // len(lines) + 1):
        for line in lines:
            f = line.split("|")
            f[0], f[1], f[2] = f"{hour:%m/%d/%y}", f"{hour:%H}:00", f"B{copy:03d}{f[2]}"
            out.append("|".join(f))
    path = directory / f"HourlyData_{hour:%Y%m%d%H}.dat"
    path.write_bytes(("\r\n".join(out[:LINES_PER_HOUR]) + "\r\n").encode("latin-1"))
    return path


def copy_rate(engine, path: Path) -> float:
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


def main() -> None:
    base = make_url(BASE_URL)
    name = f"aqi_bench_ingest_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(load_settings(database_url=base.set(database=name).render_as_string(False)))
    work = Path(tempfile.mkdtemp(prefix=name))
    try:
        migrate.upgrade(engine)
        run(engine, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def run(engine, work: Path) -> None:
    header("AirNow ingest (PostgreSQL)")
    day = datetime(2024, 4, 15, tzinfo=timezone.utc)
    files = [synthetic_hour(day + timedelta(hours=h), work) for h in range(24)]
    now = day + timedelta(days=1)
    start = time.perf_counter()
    summary = import_file(engine, files[0], now=now)
    one = time.perf_counter() - start
    plain = copy_rate(engine, files[0])
    print(f"one hour, {LINES_PER_HOUR:,} lines, {summary.loaded:,} rows: {one:.3f} s (target < 1 s); "
          f"plain COPY {plain:.3f} s; ratio {one / plain:.1f}×")
    start = time.perf_counter()
    rows = sum(import_file(engine, path, now=now).loaded for path in files[1:])
    rest = time.perf_counter() - start
    plain_day = sum(copy_rate(engine, path) for path in files[1:])
    print(f"a day (23 more hours), {rows:,} rows: {one + rest:.2f} s (target < 10 s); "
          f"plain COPY {plain_day + plain:.2f} s; ratio {(one + rest) / (plain_day + plain):.1f}×")
    again = time.perf_counter()
    import_file(engine, files[-1], now=now)
    print(f"re-importing an hour (revision, all upserts): {time.perf_counter() - again:.3f} s")
    real = os.environ.get("AQI_BENCH_AIRNOW_DIR")
    if real:
        agreement(engine, Path(real))
    else:
        print("AQI_BENCH_AIRNOW_DIR not set: no whole-day agreement figure")


def agreement(engine, directory: Path) -> None:
    """Load a real day and print our PM2.5 NowCast AQI agreement with AirNow's at every HourlyAQObs hour."""
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
