"""Shared tabular parsing for the file formats: result types, reading, units, validation, assembly.

The format modules (`airnow`, `openaq`) turn their layout into row arrays and call `assemble`;
everything they have in common (parameter filter, missing values, units, impossible values,
future hours, duplicates, the result) lives here. `core.ingest.files` picks the format.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from core.aqi import AQIError
from core.aqi import units as aqi_units
from core.parameters import PHYSICAL_MAX, POLLUTANTS, QUALITY_VALID, UNITS

MEASUREMENT_COLUMNS = ("station_code", "parameter", "ts", "value", "unit", "quality")
PUBLISHED_AQI_COLUMNS = ("station_code", "parameter", "ts", "aqi")
SITE_WEATHER_COLUMNS = ("station_code", "ts", "variable", "value")  # variable: a weather table column
# A day of OpenAQ's archive is a few MB unpacked; a gzip bomb (1 KB → GBs) stops here instead of filling memory.
MAX_DECOMPRESSED_BYTES = 512 << 20
TS_DTYPE = "datetime64[us, UTC]"

# Readings a little below zero are instrument noise around a clean-air zero and are kept as they are:
# AirNow publishes them (1.6 % of PM2.5 hours on 2024-04-16, down to -4.6 µg/m³) and its NowCast uses
# them. Below these floors (storage units) a value is an instrument fault, not air, and is rejected.
NOISE_FLOOR: dict[str, float] = {"pm25": -20.0, "pm10": -50.0, "o3": -10.0, "no2": -10.0, "so2": -10.0,
                                 "co": -0.5}
# A reading stamped further ahead of now than this is rejected: no instrument reports the future.
FUTURE_TOLERANCE = timedelta(hours=1)


@dataclass(frozen=True)
class ImportedStation:
    """A site as a file describes it; None where the file says nothing (HourlyData has no coordinates)."""

    code: str  # "openaq-<location_id>" / "airnow-<AQSID>"
    name: str
    lat: float | None
    lon: float | None
    utc_offset_hours: float | None  # the site's local standard time, information only
    source: str  # "openaq" | "airnow"
    active: bool | None = None
    agency: str | None = None
    country: str | None = None
    state: str | None = None
    county: str | None = None
    msa: str | None = None
    area: str | None = None  # the area people know it by (MSA, else "County, State"); None: not known here
    timezone: str | None = None  # IANA zone of that area


@dataclass(frozen=True)
class Rejected:
    line: int  # 1-based physical line number in the file (a header is line 1)
    reason: str


@dataclass
class ImportResult:
    source: str
    path: str
    stations: list[ImportedStation]
    measurements: pd.DataFrame  # MEASUREMENT_COLUMNS; ts UTC hour start, value in storage units
    rejected: list[Rejected] = field(default_factory=list)
    conversions: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    lines_read: int = 0  # data lines after any header: measurements + skipped + rejected (+ site rows)
    # AirNow's own AQI per station, parameter and hour (HourlyAQObs files), PUBLISHED_AQI_COLUMNS.
    published_aqi: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(PUBLISHED_AQI_COLUMNS)))
    # Weather a site measured (AirNow HourlyData), SITE_WEATHER_COLUMNS in the weather table's units.
    site_weather: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(SITE_WEATHER_COLUMNS)))


class ImportFormatError(ValueError):
    """The file as a whole is unusable; `line` is the 1-based line at fault when there is one."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.line = line
        self.path = str(path) if path is not None else None
        where = Path(path).name if path is not None else ""
        if line is not None:
            where = f"{where}, line {line}" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)


# --------------------------------------------------------------------------- reading


def read_text(path: Path) -> str:
    """The file's text, gunzipped when it starts with the gzip magic bytes; see decode."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(f"cannot read the file: {exc.strerror or exc}", path=path) from exc
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unpacked:
                data = unpacked.read(MAX_DECOMPRESSED_BYTES + 1)  # never more than the cap in memory
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportFormatError(f"not a readable gzip file: {exc}", path=path) from exc
        if len(data) > MAX_DECOMPRESSED_BYTES:
            raise ImportFormatError(f"unpacks to more than {MAX_DECOMPRESSED_BYTES >> 20} MB: not an import file",
                                    path=path)
    elif path.name.lower().endswith(".gz"):
        raise ImportFormatError("named .gz but not gzip-compressed", path=path)
    return decode(data)


def decode(data: bytes) -> str:
    """UTF-8 (BOM dropped) when the bytes are valid UTF-8, else Latin-1, which AirNow's .dat files use."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_table(
    text: str,
    path: Path,
    *,
    columns: tuple[str, ...],
    sep: str,
    quoting: int,
    header_lines: int,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Read delimited text as strings; return (frame, physical line numbers, blank-line mask).

    A line with the wrong number of fields raises ImportFormatError naming that line.
    """
    ncols = len(columns)
    try:
        with warnings.catch_warnings():
            # pandas only warns (and drops data) when the first data line is too long.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                _StringReader(text),
                sep=sep,
                header=None,
                names=list(columns),
                skiprows=header_lines,
                dtype=str,
                na_filter=False,
                skip_blank_lines=False,
                index_col=False,
                quoting=quoting,
                engine="c",
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        bad = _first_bad_record(text, sep=sep, quoting=quoting, ncols=ncols, header_lines=header_lines)
        if bad is None:
            raise ImportFormatError(f"cannot be read as {ncols} fields: {exc}", path=path) from exc
        line, found = bad
        raise ImportFormatError(f"expected {ncols} fields, found {found}", path=path, line=line) from exc

    n = len(frame)
    lines = header_lines + 1 + np.arange(n, dtype=np.int64)
    physical = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    if physical != header_lines + n:
        # Quoted fields holding newlines: every later record starts that much further down.
        newlines = np.zeros(n, dtype=np.int64)
        for col in columns:
            newlines += frame[col].str.count("\n").to_numpy(dtype=np.int64)
        lines += np.concatenate(([0], np.cumsum(newlines)[:-1])) if n else newlines

    # pandas pads a short line with empty strings, so only a line whose last field is empty can be
    # short (or blank): count its fields from the raw text.
    blank = np.zeros(n, dtype=bool)
    candidates = np.flatnonzero(frame[columns[-1]].to_numpy() == "")
    if candidates.size:
        raw_lines = text.split("\n")
        for i in candidates:
            start = int(lines[i])
            record = _record_at(raw_lines, start, sep=sep, quoting=quoting)
            if record is None:
                blank[i] = True
            elif len(record) != ncols:
                raise ImportFormatError(f"expected {ncols} fields, found {len(record)}", path=path, line=start)
    return frame, lines, blank


class _StringReader:
    """A minimal file-like view of a str, so pandas does not copy it into a StringIO."""

    def __init__(self, text: str, chunk: int = 1 << 20):
        self._text, self._pos, self._chunk = text, 0, chunk

    def read(self, size: int = -1) -> str:
        size = self._chunk if size is None or size < 0 else size
        out = self._text[self._pos : self._pos + size]
        self._pos += len(out)
        return out

    def __iter__(self):  # pandas checks for iterability to accept a file-like object
        return iter(self._text.splitlines(keepends=True))


def drop_blank_lines(frame: pd.DataFrame, lines: np.ndarray, blank: np.ndarray,
                     skipped: Counter) -> tuple[pd.DataFrame, np.ndarray]:
    """read_table's rows without its blank lines, which are counted in `skipped`."""
    if blank.any():
        skipped["blank line"] = int(blank.sum())
        return frame.loc[~blank].reset_index(drop=True), lines[~blank]
    return frame, lines


def _record_at(raw_lines: list[str], line: int, *, sep: str, quoting: int) -> list[str] | None:
    """The fields of the record starting at 1-based `line`, or None when that line is blank."""
    first = raw_lines[line - 1].rstrip("\r")
    if not first.strip():
        return None
    if quoting == csv.QUOTE_NONE:
        return first.split(sep)
    rest = (s.rstrip("\r") for s in itertools.islice(raw_lines, line - 1, None))
    return next(csv.reader(rest, delimiter=sep, quoting=quoting))


def _first_bad_record(text: str, *, sep: str, quoting: int, ncols: int, header_lines: int) -> tuple[int, int] | None:
    """(line, field count) of the first data record without `ncols` fields; slow, error path only."""
    reader = csv.reader((s.rstrip("\r") for s in text.split("\n")), delimiter=sep, quoting=quoting)
    start = 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if line <= header_lines or not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != ncols:
            return line, len(row)
    return None


def raise_first_problem(path: Path, lines: np.ndarray, problems: Iterable[tuple[np.ndarray, object]]) -> None:
    """Raise ImportFormatError for the earliest line among (row mask, row -> message) problems."""
    first: tuple[int, int, object] | None = None
    for mask, describe in problems:
        idx = np.flatnonzero(mask)
        if idx.size and (first is None or lines[idx[0]] < first[0]):
            first = (int(lines[idx[0]]), int(idx[0]), describe)
    if first is not None:
        line, row, describe = first
        raise ImportFormatError(describe(row), path=path, line=line)


def factorize_strip(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, stripped unique values): per-row work done once per distinct value."""
    codes, uniques = pd.factorize(values, sort=False)
    return codes, np.array([str(u).strip() for u in uniques], dtype=object)


# --------------------------------------------------------------------------- units

AT_25C = "at 25 °C, 1 atm"


def unit_code(raw: str) -> str | None:
    """core.aqi.units' code for a unit spelling ('UG/M3', 'µg/m³' -> 'ug/m3'); None when unknown."""
    try:
        return aqi_units.parse_unit(raw.replace(" ", ""))
    except AQIError:
        return None


def storage_factor(parameter: str, unit: str) -> tuple[float, str] | None:
    """(multiplier from unit code to the storage unit, how it was converted) or None when it makes no sense."""
    storage = aqi_units.parse_unit(UNITS[parameter])
    try:
        factor = aqi_units.conversion_factor(unit, storage, parameter)
    except AQIError:
        return None
    if not aqi_units.same_kind(unit, storage):
        return factor, AT_25C
    return factor, {1.0: "", 1000.0: "(×1000)", 0.001: "(÷1000)"}[factor]


def _fmt(x: float) -> str:
    return f"{x:.6g}"


# --------------------------------------------------------------------------- assembly


def assemble(
    *,
    source: str,
    path: Path,
    lines_read: int,
    line: np.ndarray,
    station_code: np.ndarray,
    parameter: pd.Series,
    unit: pd.Series,
    value: pd.Series,
    ts: pd.Series,
    stations: Mapping[str, ImportedStation],
    parameter_names: Mapping[str, str],
    skipped: Counter,
    now: datetime | None = None,
    missing_sentinel: float | None = None,
) -> ImportResult:
    """Filter, convert and validate structurally sound rows into an ImportResult.

    `parameter_names` maps a lower-case parameter spelling of the source to our pollutant code;
    `now` (default: the clock) bounds the hours a reading may carry.
    """
    n = len(line)
    parameter = parameter.reset_index(drop=True)
    unit = unit.reset_index(drop=True)
    value = value.reset_index(drop=True)
    ts = pd.Series(ts).reset_index(drop=True).astype(TS_DTYPE)

    # Parameters we do not store are skipped, counted by their name in the file.
    p_codes, p_uniques = factorize_strip(parameter)
    p_canon = [parameter_names.get(p.lower()) for p in p_uniques]
    p_counts = np.bincount(p_codes, minlength=len(p_uniques)) if n else np.zeros(0, dtype=np.int64)
    for name, canon, count in zip(p_uniques, p_canon, p_counts):
        if canon is None and count:
            skipped[f"parameter {name}"] += int(count)
    pollutant_index = np.array([POLLUTANTS.index(c) if c else -1 for c in p_canon] or [-1], dtype=np.int64)
    row_pollutant = pollutant_index[p_codes] if n else np.zeros(0, dtype=np.int64)
    keep = row_pollutant >= 0

    # Values: parse all at once, then look one by one only at those that did not parse.
    numbers = pd.to_numeric(value, errors="coerce").to_numpy(dtype=float, copy=True)
    reasons: dict[int, str] = {}
    missing = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(keep & ~np.isfinite(numbers)):
        if not str(value.iat[i]).strip():
            missing[i] = True
    if missing.any():
        skipped["missing value (empty)"] += int(missing.sum())
    if missing_sentinel is not None:
        sentinel = keep & ~missing & (numbers == missing_sentinel)
        if sentinel.any():
            skipped[f"missing value ({missing_sentinel:g})"] += int(sentinel.sum())
        missing |= sentinel
    candidate = keep & ~missing

    # Units: a factor per (pollutant, unit spelling) pair.
    u_codes, u_uniques = factorize_strip(unit)
    u_norm = [unit_code(u) for u in u_uniques]
    factor_table = np.full((len(POLLUTANTS), max(len(u_uniques), 1)), np.nan)
    for pi, pollutant in enumerate(POLLUTANTS):
        for ui, norm in enumerate(u_norm):
            conv = storage_factor(pollutant, norm) if norm else None
            if conv is not None:
                factor_table[pi, ui] = conv[0]
    factor = np.full(n, np.nan)
    factor[candidate] = factor_table[row_pollutant[candidate], u_codes[candidate]]
    converted = numbers * factor
    # Conversion leaves float noise (0.0141 ppm × 1000 = 14.100000000000001): six decimals are plenty.
    changed = factor != 1.0
    converted[changed] = np.round(converted[changed], 6)

    bad_unit = candidate & np.isnan(factor)
    not_number = candidate & ~bad_unit & ~np.isfinite(numbers)
    sound = candidate & ~bad_unit & ~not_number
    floors = np.array([NOISE_FLOOR[p] for p in POLLUTANTS])
    maxima = np.array([PHYSICAL_MAX[p] for p in POLLUTANTS])
    too_low = sound.copy()
    too_low[sound] = converted[sound] < floors[row_pollutant[sound]]
    too_high = sound & ~too_low
    too_high[too_high] = converted[too_high] > maxima[row_pollutant[too_high]]
    limit = pd.Timestamp(now or datetime.now(timezone.utc)).tz_convert("UTC") + FUTURE_TOLERANCE
    future = candidate & (ts > limit).to_numpy(dtype=bool)

    def describe(i: int) -> tuple[str, str, str, str]:
        pollutant = POLLUTANTS[row_pollutant[i]]
        norm = u_norm[u_codes[i]]
        shown_unit = aqi_units.LABELS[norm] if norm else str(u_uniques[u_codes[i]])
        return pollutant, str(value.iat[i]).strip(), shown_unit, UNITS[pollutant]

    def amount(i: int) -> str:
        _, text, shown, storage = describe(i)
        return f"{text} {shown}" if shown == storage else f"{text} {shown} (= {_fmt(converted[i])} {storage})"

    for i in np.flatnonzero(bad_unit):
        reasons[i] = f"unit {str(u_uniques[u_codes[i]])!r} makes no sense for {describe(i)[0]}"
    for i in np.flatnonzero(not_number):
        pollutant, text, _, _ = describe(i)
        reasons[i] = f"{pollutant} value {text!r} is not a number"
    for i in np.flatnonzero(too_low):
        pollutant, _, _, storage = describe(i)
        reasons[i] = (f"{pollutant} value {amount(i)} is below {NOISE_FLOOR[pollutant]:g} {storage}, "
                      "the floor of instrument noise")
    for i in np.flatnonzero(too_high):
        pollutant, _, _, storage = describe(i)
        reasons[i] = f"{pollutant} value {amount(i)} exceeds the physical maximum {PHYSICAL_MAX[pollutant]:g} {storage}"
    for i in np.flatnonzero(future & ~bad_unit & ~not_number & ~too_low & ~too_high):
        reasons[i] = (f"{describe(i)[0]} reading stamped {ts.iat[i]:%Y-%m-%dT%H:%MZ} is more than an hour "
                      f"ahead of now ({limit - FUTURE_TOLERANCE:%Y-%m-%dT%H:%MZ})")
    rejected = sorted((Rejected(int(line[i]), r) for i, r in reasons.items()), key=lambda r: r.line)

    good = sound & ~too_low & ~too_high & ~future
    idx = np.flatnonzero(good)
    pollutant_names = np.array(POLLUTANTS, dtype=object)
    storage_units = np.array([UNITS[p] for p in POLLUTANTS], dtype=object)
    measurements = pd.DataFrame(
        {
            "station_code": pd.Series(station_code[idx], dtype=str),
            "parameter": pd.Series(pollutant_names[row_pollutant[idx]], dtype=str),
            "ts": ts.iloc[idx].reset_index(drop=True).dt.floor("h"),
            "value": converted[idx].astype(float),
            "unit": pd.Series(storage_units[row_pollutant[idx]], dtype=str),
            "quality": np.full(idx.size, QUALITY_VALID, dtype=np.int8),
        }
    )
    from_unit = u_codes[idx]

    # The last reading of a (station, pollutant, hour) wins.
    dup = measurements.duplicated(subset=["station_code", "parameter", "ts"], keep="last").to_numpy()
    if dup.any():
        skipped["duplicate hour"] += int(dup.sum())
        measurements = measurements.loc[~dup].reset_index(drop=True)
        from_unit = from_unit[~dup]

    conversions = _conversion_sentences(row_pollutant[idx][~dup], from_unit, u_norm)
    kept_codes = set(measurements["station_code"].unique())
    return ImportResult(
        source=source,
        path=str(path),
        stations=[s for code, s in stations.items() if code in kept_codes],
        measurements=measurements,
        rejected=rejected,
        conversions=conversions,
        skipped=dict(skipped),
        lines_read=lines_read,
    )


def _conversion_sentences(pollutant_idx: np.ndarray, unit_idx: np.ndarray, u_norm: list[str | None]) -> list[str]:
    """'o3: 1,234 values converted from ppm to ppb (×1000)', one per pollutant and source unit."""
    if not pollutant_idx.size:
        return []
    order = list(aqi_units.LABELS)
    counts: Counter = Counter()
    for (pi, ui), count in pd.DataFrame({"p": pollutant_idx, "u": unit_idx}).value_counts().items():
        norm = u_norm[ui]
        if norm is not None and aqi_units.LABELS[norm] != UNITS[POLLUTANTS[pi]]:
            counts[(int(pi), norm)] += int(count)  # several spellings of one unit make one sentence
    sentences = []
    for (pi, norm), count in sorted(counts.items(), key=lambda kv: (kv[0][0], order.index(kv[0][1]))):
        pollutant = POLLUTANTS[pi]
        how = storage_factor(pollutant, norm)[1]
        noun = "value" if count == 1 else "values"
        sentences.append(f"{pollutant}: {count:,} {noun} converted from {aqi_units.LABELS[norm]} to "
                         f"{UNITS[pollutant]} {how}")
    return sentences
