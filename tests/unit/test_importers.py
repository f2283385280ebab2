"""OpenAQ archive and AirNow hourly file importers, on fixtures in the real formats."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.ingest.importers import (
    ImportedStation,
    ImportFormatError,
    Rejected,
    parse_file,
)
from core.parameters import QUALITY_VALID, UNITS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPENAQ_CSV = FIXTURES / "openaq_location-2178-20240101.csv"  # Albuquerque, -07:00, gases in ppm
OPENAQ_GZ = FIXTURES / "openaq_location-8118-20240101.csv.gz"  # New Delhi, +05:30, quoted, gases in µg/m³
AIRNOW_DAT = FIXTURES / "airnow_HourlyData_2026112622.dat"

HEADER = "location_id,sensors_id,location,datetime,lat,lon,parameter,units,value"
ROW = "2178,3920,Del Norte-2178,2024-01-01T{hour}:00:00-07:00,35.1353,-106.584702,{parameter},{unit},{value}"
AIRNOW_ROW = "11/26/26|{time}|060371103|Los Angeles - N. Main|-8|{parameter}|{unit}|{value}|South Coast AQMD"


def write(tmp_path: Path, name: str, lines: list[str], newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(newline.join(lines).encode("utf-8") + newline.encode())
    return path


def openaq_row(hour="01", parameter="pm25", unit="µg/m³", value="8.2") -> str:
    return ROW.format(hour=hour, parameter=parameter, unit=unit, value=value)


def values(result, station: str, parameter: str) -> list[float]:
    m = result.measurements
    return m.loc[(m.station_code == station) & (m.parameter == parameter), "value"].tolist()


def accounted_for(result) -> int:
    return len(result.measurements) + sum(result.skipped.values()) + len(result.rejected)


# --------------------------------------------------------------------------- OpenAQ


def test_openaq_csv_gives_station_from_the_data():
    result = parse_file(OPENAQ_CSV)
    assert result.source == "openaq"
    assert result.path == str(OPENAQ_CSV)
    assert result.stations == [
        ImportedStation(
            code="openaq-2178", name="Del Norte-2178", lat=35.1353, lon=-106.584702,
            utc_offset_hours=-7.0, source="openaq",
        )
    ]


def test_openaq_local_time_with_offset_becomes_utc():
    m = parse_file(OPENAQ_CSV).measurements
    first = m[(m.parameter == "pm25")].iloc[0]
    # 01:00-07:00 is 08:00Z, the END of OpenAQ's hourly average: stored as the hour starting 07:00Z
    assert first.ts == pd.Timestamp("2024-01-01T07:00:00Z")
    assert str(m["ts"].dtype) == "datetime64[us, UTC]"


def test_openaq_half_hour_offset_is_floored_to_the_utc_hour():
    result = parse_file(OPENAQ_GZ)
    m = result.measurements
    assert sorted(set(m["ts"])) == [pd.Timestamp("2023-12-31T18:00Z"), pd.Timestamp("2023-12-31T19:00Z")]
    assert result.stations[0].utc_offset_hours == 5.5


def test_openaq_measurement_frame_has_the_storage_columns_and_types():
    m = parse_file(OPENAQ_CSV).measurements
    assert list(m.columns) == ["station_code", "parameter", "ts", "value", "unit", "quality"]
    assert m["value"].dtype == np.float64
    assert m["quality"].dtype == np.int8
    assert (m["quality"] == QUALITY_VALID).all()
    assert all(unit == UNITS[p] for p, unit in zip(m["parameter"], m["unit"]))


def test_openaq_gas_in_ppm_is_converted_to_ppb_and_said():
    result = parse_file(OPENAQ_CSV)
    assert values(result, "openaq-2178", "o3") == [31.0, 29.0, 27.0]
    assert values(result, "openaq-2178", "no2") == [12.5, 14.1]
    assert values(result, "openaq-2178", "co") == [0.2]  # CO is stored in ppm already
    assert result.conversions == [
        "o3: 3 values converted from ppm to ppb (×1000)",
        "no2: 2 values converted from ppm to ppb (×1000)",
    ]


def test_openaq_gzip_with_quoted_fields_is_read():
    result = parse_file(OPENAQ_GZ)
    assert result.source == "openaq"
    assert result.stations[0].code == "openaq-8118"
    assert result.stations[0].name == "New Delhi"
    assert result.lines_read == 8


def test_openaq_gas_in_micrograms_is_converted_at_25_celsius():
    result = parse_file(OPENAQ_GZ)
    assert values(result, "openaq-8118", "no2") == [pytest.approx(46.01 * 24.45 / 46.01)]
    assert values(result, "openaq-8118", "so2") == [pytest.approx(12.5 * 24.45 / 64.07, abs=1e-6)]
    assert values(result, "openaq-8118", "co") == [pytest.approx(1145.6 * 24.45 / 28.01 / 1000, abs=1e-6)]
    assert result.conversions == [
        "no2: 1 value converted from µg/m³ to ppb at 25 °C, 1 atm",
        "so2: 1 value converted from µg/m³ to ppb at 25 °C, 1 atm",
        "co: 1 value converted from µg/m³ to ppm at 25 °C, 1 atm",
    ]


def test_openaq_impossible_values_are_rejected_with_their_line_numbers():
    result = parse_file(OPENAQ_CSV)
    assert result.rejected == [
        Rejected(9, "pm25 value -5.0 µg/m³ is negative"),
        Rejected(12, "co value 900 ppm exceeds the physical maximum 200 ppm"),
        Rejected(16, "unit 'ppb' makes no sense for pm25"),
        Rejected(17, "pm10 value 'n/a' is not a number"),
    ]


def test_openaq_physical_maximum_applies_after_conversion(tmp_path):
    path = write(tmp_path, "openaq_high.csv", [HEADER, openaq_row(parameter="o3", unit="ppm", value="1.5")])
    (rejected,) = parse_file(path).rejected
    assert rejected == Rejected(2, "o3 value 1.5 ppm (= 1500 ppb) exceeds the physical maximum 1000 ppb")


def test_openaq_nan_value_is_rejected(tmp_path):
    path = write(tmp_path, "openaq_nan.csv", [HEADER, openaq_row(value="NaN")])
    result = parse_file(path)
    assert result.rejected == [Rejected(2, "pm25 value 'NaN' is not a number")]
    assert result.measurements.empty


def test_openaq_non_pollutant_parameters_are_skipped_and_counted():
    assert parse_file(OPENAQ_CSV).skipped == {"parameter temperature": 2, "parameter relativehumidity": 2}
    assert parse_file(OPENAQ_GZ).skipped["parameter um003"] == 1


def test_openaq_duplicate_hour_keeps_the_last_row():
    result = parse_file(OPENAQ_GZ)  # two pm25 sensors report 01:00 local
    assert values(result, "openaq-8118", "pm25") == [190.0, 175.5]
    assert result.skipped["duplicate hour"] == 1


def test_every_line_is_a_measurement_a_skip_or_a_rejection():
    for path in (OPENAQ_CSV, OPENAQ_GZ, AIRNOW_DAT):
        result = parse_file(path)
        assert accounted_for(result) == result.lines_read


def test_openaq_plain_csv_and_gzip_give_the_same_result(tmp_path):
    gz = tmp_path / "location-2178-20240101.csv.gz"
    with open(OPENAQ_CSV, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    plain, zipped = parse_file(OPENAQ_CSV), parse_file(gz)
    pd.testing.assert_frame_equal(plain.measurements, zipped.measurements)
    assert plain.rejected == zipped.rejected


def test_openaq_windows_line_endings_and_bom_are_read(tmp_path):
    path = tmp_path / "openaq_crlf.csv"
    path.write_bytes(b"\xef\xbb\xbf" + f"{HEADER}\r\n{openaq_row()}\r\n{openaq_row('02', value='-1')}\r\n".encode())
    result = parse_file(path)
    assert values(result, "openaq-2178", "pm25") == [8.2]
    assert result.rejected == [Rejected(3, "pm25 value -1 µg/m³ is negative")]


def test_openaq_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path):
    multiline = '2178,3919,"Del Norte\n2178",2024-01-01T02:00:00-07:00,35.1353,-106.584702,pm10,µg/m³,3.0'
    path = write(tmp_path, "openaq_odd.csv", [HEADER, openaq_row(), "", multiline, openaq_row("03", value="-2")])
    result = parse_file(path)
    assert result.rejected == [Rejected(6, "pm25 value -2 µg/m³ is negative")]
    assert result.skipped == {"blank line": 1}
    assert accounted_for(result) == result.lines_read == 4


def test_openaq_empty_value_is_skipped_as_missing(tmp_path):
    path = write(tmp_path, "openaq_empty.csv", [HEADER, openaq_row(value=""), openaq_row("02")])
    result = parse_file(path)
    assert result.skipped == {"missing value (empty)": 1}
    assert result.rejected == []


def test_openaq_line_with_too_many_fields_names_the_line(tmp_path):
    lines = [HEADER, openaq_row(), openaq_row("02"), openaq_row("03") + ",extra", openaq_row("04")]
    with pytest.raises(ImportFormatError, match=r"line 4: expected 9 fields, found 10") as err:
        parse_file(write(tmp_path, "openaq_long.csv", lines))
    assert err.value.line == 4


def test_openaq_first_data_line_too_long_names_the_line(tmp_path):
    # pandas alone would silently drop the extra field of a first line.
    with pytest.raises(ImportFormatError, match=r"line 2: expected 9 fields, found 10"):
        parse_file(write(tmp_path, "openaq_long_first.csv", [HEADER, openaq_row() + ",x", openaq_row("02")]))


def test_openaq_line_with_too_few_fields_names_the_line(tmp_path):
    short = "2178,3920,Del Norte-2178,2024-01-01T02:00:00-07:00,35.1353,-106.584702,pm25,µg/m³"
    with pytest.raises(ImportFormatError, match=r"line 3: expected 9 fields, found 8"):
        parse_file(write(tmp_path, "openaq_short.csv", [HEADER, openaq_row(), short]))


def test_openaq_unparseable_datetime_names_the_line(tmp_path):
    bad = openaq_row().replace("2024-01-01T01:00:00-07:00", "2024-13-01T00:00")
    with pytest.raises(ImportFormatError, match=r"line 3: unparseable datetime '2024-13-01T00:00'"):
        parse_file(write(tmp_path, "openaq_baddate.csv", [HEADER, openaq_row(), bad]))


def test_openaq_datetime_without_offset_is_unparseable(tmp_path):
    naive = openaq_row().replace("-07:00", "")
    with pytest.raises(ImportFormatError, match=r"line 2: unparseable datetime"):
        parse_file(write(tmp_path, "openaq_naive.csv", [HEADER, naive]))


def test_openaq_unparseable_latitude_names_the_line(tmp_path):
    bad = openaq_row().replace("35.1353", "north")
    with pytest.raises(ImportFormatError, match=r"line 2: unparseable latitude 'north'"):
        parse_file(write(tmp_path, "openaq_badlat.csv", [HEADER, bad]))


def test_openaq_wrong_header_is_a_format_error(tmp_path):
    header = "location_id,sensor_id,location,datetime,lat,lon,parameter,unit,value"
    with pytest.raises(ImportFormatError, match=r"line 1: not an OpenAQ archive header"):
        parse_file(write(tmp_path, "openaq_header.csv", [header, openaq_row()]))


def test_unreadable_gzip_is_a_format_error(tmp_path):
    path = tmp_path / "location-2178-20240101.csv.gz"
    path.write_bytes(OPENAQ_GZ.read_bytes()[:60])  # truncated download
    with pytest.raises(ImportFormatError, match="not a readable gzip file"):
        parse_file(path)


# --------------------------------------------------------------------------- AirNow


def test_airnow_local_standard_time_minus_gmt_offset_is_utc():
    m = parse_file(AIRNOW_DAT).measurements
    ts = dict(zip(m["station_code"], m["ts"]))
    assert ts["airnow-060371103"] == pd.Timestamp("2026-11-26T22:00:00Z")  # 14:00 at -8
    assert ts["airnow-360610135"] == pd.Timestamp("2026-11-26T19:00:00Z")  # 14:00 at -5
    assert ts["airnow-000010102"] == pd.Timestamp("2026-11-26T17:00:00Z")  # 14:00 at -3.5 is 17:30Z


def test_airnow_pollutants_are_mapped_and_kept_in_storage_units():
    result = parse_file(AIRNOW_DAT)
    assert result.source == "airnow"
    assert values(result, "airnow-060371103", "pm25") == [12.3]
    assert values(result, "airnow-060371103", "o3") == [31.0]
    assert values(result, "airnow-060371103", "no2") == [18.4]
    assert values(result, "airnow-060371103", "co") == [0.41]
    assert values(result, "airnow-360610135", "so2") == [1.2]
    assert result.conversions == []


def test_airnow_stations_carry_name_and_offset_but_no_coordinates():
    stations = {s.code: s for s in parse_file(AIRNOW_DAT).stations}
    assert stations["airnow-060371103"] == ImportedStation(
        code="airnow-060371103", name="Los Angeles - N. Main", lat=None, lon=None,
        utc_offset_hours=-8.0, source="airnow",
    )
    assert stations["airnow-000010102"].utc_offset_hours == -3.5
    assert "airnow-840020900040" not in stations  # its only reading was rejected


def test_airnow_minus_999_is_missing_not_impossible():
    result = parse_file(AIRNOW_DAT)
    assert result.skipped["missing value (-999)"] == 2
    assert all("-999" not in r.reason for r in result.rejected)


def test_airnow_non_pollutant_parameters_are_skipped_and_counted():
    skipped = parse_file(AIRNOW_DAT).skipped
    assert {k: v for k, v in skipped.items() if k.startswith("parameter")} == {
        "parameter TEMP": 1, "parameter RHUM": 1, "parameter WS": 1, "parameter NOX": 1,
    }


def test_airnow_impossible_values_are_rejected_with_their_line_numbers():
    assert parse_file(AIRNOW_DAT).rejected == [
        Rejected(14, "o3 value -2 ppb is negative"),
        Rejected(15, "pm25 value 2500 µg/m³ exceeds the physical maximum 2000 µg/m³"),
    ]


def test_airnow_duplicate_hour_keeps_the_last_row():
    result = parse_file(AIRNOW_DAT)  # CCNY PM2.5 sent twice, 9.8 then 10.1
    assert values(result, "airnow-360610135", "pm25") == [10.1]
    assert result.skipped["duplicate hour"] == 1


def test_airnow_co_in_ppb_is_converted_to_ppm(tmp_path):
    path = write(tmp_path, "airnow_co.dat", [AIRNOW_ROW.format(time="14:00", parameter="CO", unit="PPB", value="410")])
    result = parse_file(path)
    assert values(result, "airnow-060371103", "co") == [0.41]
    assert result.conversions == ["co: 1 value converted from ppb to ppm (÷1000)"]


def test_airnow_ppb_for_particles_is_rejected(tmp_path):
    path = write(tmp_path, "airnow_pm_ppb.dat", [AIRNOW_ROW.format(time="14:00", parameter="PM10", unit="PPB", value="12")])
    assert parse_file(path).rejected == [Rejected(1, "unit 'PPB' makes no sense for pm10")]


def test_airnow_non_numeric_value_is_rejected_not_fatal(tmp_path):
    lines = [AIRNOW_ROW.format(time="14:00", parameter="OZONE", unit="PPB", value=v) for v in ("31", "N/A")]
    result = parse_file(write(tmp_path, "airnow_text.dat", lines))
    assert result.rejected == [Rejected(2, "o3 value 'N/A' is not a number")]
    assert len(result.measurements) == 1


def test_airnow_line_with_wrong_field_count_names_the_line(tmp_path):
    lines = [AIRNOW_ROW.format(time="14:00", parameter="OZONE", unit="PPB", value="31")] * 2
    lines.append("11/26/26|14:00|060371103|Los Angeles - N. Main|-8|OZONE|PPB|31")
    with pytest.raises(ImportFormatError, match=r"line 3: expected 9 fields, found 8") as err:
        parse_file(write(tmp_path, "airnow_short.dat", lines))
    assert err.value.line == 3


def test_airnow_unparseable_date_names_the_line(tmp_path):
    lines = [
        AIRNOW_ROW.format(time="14:00", parameter="OZONE", unit="PPB", value="31"),
        AIRNOW_ROW.format(time="14:00", parameter="OZONE", unit="PPB", value="31").replace("11/26/26", "26/11/26"),
    ]
    with pytest.raises(ImportFormatError, match=r"line 2: unparseable date and time '26/11/26 14:00'"):
        parse_file(write(tmp_path, "airnow_date.dat", lines))


def test_airnow_unparseable_gmt_offset_names_the_line(tmp_path):
    line = AIRNOW_ROW.format(time="14:00", parameter="OZONE", unit="PPB", value="31").replace("|-8|", "|PST|")
    with pytest.raises(ImportFormatError, match=r"line 1: unparseable GMT offset 'PST'"):
        parse_file(write(tmp_path, "airnow_offset.dat", [line]))


def test_airnow_windows_1252_site_names_are_read(tmp_path):
    path = tmp_path / "airnow_latin.dat"
    path.write_bytes("11/26/26|14:00|000055001|Montréal|-5|PM2.5|UG/M3|7|Environnement Québec\r\n".encode("cp1252"))
    result = parse_file(path)
    assert result.stations[0].name == "Montréal"
    assert values(result, "airnow-000055001", "pm25") == [7.0]


# --------------------------------------------------------------------------- detection


def test_unknown_format_is_a_format_error(tmp_path):
    path = write(tmp_path, "readings.txt", ["station;time;pm25", "a;2024-01-01;3"])
    with pytest.raises(ImportFormatError, match="unknown format"):
        parse_file(path)


def test_empty_file_is_a_format_error(tmp_path):
    path = tmp_path / "HourlyData_2026112614.dat"
    path.write_bytes(b"")
    with pytest.raises(ImportFormatError, match="empty"):
        parse_file(path)


def test_format_is_detected_from_content_not_extension(tmp_path):
    dat = tmp_path / "HourlyData_2026112622.txt"
    shutil.copy(AIRNOW_DAT, dat)
    assert parse_file(dat).source == "airnow"
    assert parse_file(str(OPENAQ_CSV)).source == "openaq"  # str paths work too
