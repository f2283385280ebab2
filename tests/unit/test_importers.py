"""OpenAQ archive and AirNow file parsers, on real files (tests/fixtures/README.md) and lines copied from them."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.ingest.airnow import area_zone, fixed_zone
from core.ingest.files import parse_file
from core.ingest.tabular import ImportedStation, ImportFormatError, Rejected
from core.parameters import QUALITY_VALID, UNITS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OPENAQ_CSV = FIXTURES / "openaq_location-2178-20240101.csv"  # Albuquerque, -07:00, gases in ppm
OPENAQ_GZ = FIXTURES / "openaq_location-8118-20240101.csv.gz"  # New Delhi, +05:30, quoted, gases in µg/m³
OPENAQ_DOCS = FIXTURES / "openaq_location-2178-20230222.docs-excerpt.csv"  # real rows from OpenAQ's docs
AIRNOW = FIXTURES / "airnow"
AIRNOW_DAT = AIRNOW / "HourlyData_2024041611.dat"
AIRNOW_SITES = AIRNOW / "monitoring_site_locations.dat"
AIRNOW_AQOBS = AIRNOW / "HourlyAQObs_2024041611.dat"

HEADER = "location_id,sensors_id,location,datetime,lat,lon,parameter,units,value"
ROW = "2178,3920,Del Norte-2178,2024-01-01T{hour}:00:00-07:00,35.1353,-106.584702,{parameter},{unit},{value}"
# A real HourlyData line (2024-04-16 11:00 UTC) with its fields opened up.
AIRNOW_ROW = "04/16/24|{time}|000020104|CHARLOTTETOWN|-4|{parameter}|{unit}|{value}|Canada-Prince Edward Island1"


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
    return len(result.measurements) + len(result.site_weather) + sum(result.skipped.values()) + len(result.rejected)


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
    # -3.0 µg/m³ is instrument noise: kept, converted like any value
    assert values(result, "openaq-8118", "no2") == [pytest.approx(24.45), pytest.approx(-3.0 * 24.45 / 46.01, abs=1e-6)]
    assert values(result, "openaq-8118", "so2") == [pytest.approx(12.5 * 24.45 / 64.07, abs=1e-6)]
    assert values(result, "openaq-8118", "co") == [pytest.approx(1145.6 * 24.45 / 28.01 / 1000, abs=1e-6)]
    assert result.conversions == [
        "no2: 2 values converted from µg/m³ to ppb at 25 °C, 1 atm",
        "so2: 1 value converted from µg/m³ to ppb at 25 °C, 1 atm",
        "co: 1 value converted from µg/m³ to ppm at 25 °C, 1 atm",
    ]


def test_openaq_impossible_values_are_rejected_with_their_line_numbers():
    result = parse_file(OPENAQ_CSV)
    assert result.rejected == [
        Rejected(12, "co value 900 ppm exceeds the physical maximum 200 ppm"),
        Rejected(16, "unit 'ppb' makes no sense for pm25"),
        Rejected(17, "pm10 value 'n/a' is not a number"),
    ]


def test_openaq_physical_maximum_applies_after_conversion(tmp_path):
    path = write(tmp_path, "openaq_high.csv", [HEADER, openaq_row(parameter="o3", unit="ppm", value="1.5")])
    (rejected,) = parse_file(path).rejected
    assert rejected == Rejected(2, "o3 value 1.5 ppm (= 1500 ppb) exceeds the physical maximum 1000 ppb")


def test_openaq_small_negative_values_are_kept_as_instrument_noise():
    assert values(parse_file(OPENAQ_CSV), "openaq-2178", "pm25") == [8.2, -5.0]


def test_openaq_value_below_the_noise_floor_is_rejected(tmp_path):
    path = write(tmp_path, "openaq_low.csv", [HEADER, openaq_row(value="-500")])
    assert parse_file(path).rejected == [
        Rejected(2, "pm25 value -500 µg/m³ is below -20 µg/m³, the floor of instrument noise")]


def test_openaq_docs_excerpt_hour_ends_become_utc_hour_starts():
    result = parse_file(OPENAQ_DOCS)
    m = result.measurements
    # 2023-02-22T01:00-07:00 ends the hour 07:00–08:00Z; the day's 14 rows are 14 consecutive hours of pm10.
    assert list(m["ts"]) == list(pd.date_range("2023-02-22T07:00Z", periods=14, freq="h"))
    assert m["value"].tolist()[:3] == [14.0, 4.0, 7.0] and set(m["parameter"]) == {"pm10"}
    assert (result.rejected, result.skipped) == ([], {})


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
    for path in (OPENAQ_CSV, OPENAQ_GZ, OPENAQ_DOCS, AIRNOW_DAT):
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
    path.write_bytes(b"\xef\xbb\xbf" + f"{HEADER}\r\n{openaq_row()}\r\n{openaq_row('02', value='-99')}\r\n".encode())
    result = parse_file(path)
    assert values(result, "openaq-2178", "pm25") == [8.2]
    assert result.rejected == [Rejected(3, "pm25 value -99 µg/m³ is below -20 µg/m³, the floor of instrument noise")]


def test_openaq_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path):
    multiline = '2178,3919,"Del Norte\n2178",2024-01-01T02:00:00-07:00,35.1353,-106.584702,pm10,µg/m³,3.0'
    path = write(tmp_path, "openaq_odd.csv", [HEADER, openaq_row(), "", multiline, openaq_row("03", value="-200")])
    result = parse_file(path)
    assert result.rejected == [Rejected(6, "pm25 value -200 µg/m³ is below -20 µg/m³, the floor of instrument noise")]
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


# --------------------------------------------------------------------------- AirNow HourlyData


def airnow_line(time="11:00", parameter="PM2.5", unit="UG/M3", value="3.5") -> str:
    return AIRNOW_ROW.format(time=time, parameter=parameter, unit=unit, value=value)


def test_airnow_hourly_data_times_are_utc_hour_starts_whatever_the_site_offset():
    result = parse_file(AIRNOW_DAT)
    stations = {s.code: s for s in result.stations}
    # Every site of the file named ...2024041611 is stamped 11:00 UTC, from -8 h (Castlegar) to +8 h (Kuala Lumpur).
    assert set(result.measurements["ts"]) == {pd.Timestamp("2024-04-16T11:00Z")}
    assert stations["airnow-000103502"].utc_offset_hours == -8.0
    assert stations["airnow-458MY1010001"].utc_offset_hours == 8.0


def test_airnow_pollutants_are_mapped_and_kept_in_storage_units():
    result = parse_file(AIRNOW_DAT)
    assert result.source == "airnow"
    assert values(result, "airnow-000020104", "pm25") == [3.5]
    assert values(result, "airnow-000020104", "o3") == [24.0]
    assert values(result, "airnow-000020104", "no2") == [0.7]
    assert values(result, "airnow-000020104", "so2") == [0.0]
    assert values(result, "airnow-240270006", "co") == [0.2]
    assert result.conversions == []


def test_airnow_aqsids_stay_strings_with_leading_zeros_and_letters():
    codes = {s.code for s in parse_file(AIRNOW_DAT).stations}
    assert {"airnow-000020104", "airnow-840TT1820013", "airnow-458MY1010001"} <= codes
    assert len(codes) == 91


def test_airnow_negative_readings_are_kept_as_published():
    result = parse_file(AIRNOW_DAT)
    assert values(result, "airnow-840060199998", "pm25") == [-4.0]
    assert values(result, "airnow-840TT1820013", "pm25") == [-1.0]
    assert values(result, "airnow-510870014", "so2") == [-0.2]
    assert result.rejected == []


def test_airnow_reading_below_the_noise_floor_is_rejected(tmp_path):
    result = parse_file(write(tmp_path, "airnow_low.dat", [airnow_line(), airnow_line(parameter="OZONE", unit="PPB",
                                                                                       value="-500")]))
    assert result.rejected == [Rejected(2, "o3 value -500 ppb is below -10 ppb, the floor of instrument noise")]


def test_airnow_stations_carry_name_and_offset_but_no_coordinates():
    stations = {s.code: s for s in parse_file(AIRNOW_DAT).stations}
    assert stations["airnow-000020104"] == ImportedStation(
        code="airnow-000020104", name="CHARLOTTETOWN", lat=None, lon=None, utc_offset_hours=-4.0, source="airnow")


def test_airnow_latin1_site_names_are_read():
    stations = {s.code: s for s in parse_file(AIRNOW_DAT).stations}
    assert stations["airnow-000051501"].name == "Saint-Zéphirin-de-Co"  # AirNow cuts names at 20 characters


def test_airnow_weather_lines_become_site_weather_and_other_parameters_are_skipped():
    result = parse_file(AIRNOW_DAT)
    assert result.skipped == {
        "parameter NO": 16, "parameter NOX": 10, "parameter NOY": 2, "parameter RWS": 14, "parameter RWD": 15,
        "parameter SRAD": 8, "parameter PMC": 4, "parameter BC": 1,
    }
    assert result.site_weather["variable"].value_counts().to_dict() == {
        "temperature_c": 24, "wind_speed_ms": 22, "wind_dir_deg": 21, "humidity_pct": 15, "pressure_hpa": 11,
        "precipitation_mm": 4}
    banning = result.site_weather[result.site_weather["station_code"] == "airnow-060650012"]
    assert dict(zip(banning["variable"], banning["value"])) == {
        "pressure_hpa": 938.2, "humidity_pct": 77.5, "temperature_c": 9.0, "wind_dir_deg": 242.5, "wind_speed_ms": 1.9}
    assert result.lines_read == 370 == accounted_for(result)


def test_airnow_weather_in_other_units_is_converted_and_nonsense_rejected(tmp_path):
    lines = [airnow_line("11:00", parameter=p, unit=u, value=v) for p, u, v in
             [("TEMP", "F", "50"), ("WS", "KNOTS", "10"), ("PRECIP", "INCHES", "0.1"), ("TEMP", "PPB", "3"),
              ("RHUM", "PERCENT", "140")]]
    result = parse_file(write(tmp_path, "airnow_weather.dat", lines))
    assert list(result.site_weather["value"]) == [10.0, 5.14444, 2.54]
    assert result.rejected == [Rejected(4, "unit 'PPB' makes no sense for TEMP"),
                               Rejected(5, "RHUM value 140 PERCENT is outside 0…100 (humidity_pct)")]


def test_airnow_reading_stamped_in_the_future_is_rejected(tmp_path):
    path = write(tmp_path, "airnow_future.dat", [airnow_line("11:00"), airnow_line("13:00")])
    result = parse_file(path, now=pd.Timestamp("2024-04-16T11:20Z").to_pydatetime())
    assert result.rejected == [Rejected(2, "pm25 reading stamped 2024-04-16T13:00Z is more than an hour ahead of "
                                           "now (2024-04-16T11:20Z)")]
    assert values(result, "airnow-000020104", "pm25") == [3.5]


def test_airnow_the_next_hour_is_not_the_future(tmp_path):
    path = write(tmp_path, "airnow_next.dat", [airnow_line("12:00")])
    assert parse_file(path, now=pd.Timestamp("2024-04-16T11:20Z").to_pydatetime()).rejected == []


def test_airnow_duplicate_hour_keeps_the_last_row(tmp_path):
    result = parse_file(write(tmp_path, "airnow_dup.dat", [airnow_line(value="3.5"), airnow_line(value="4.1")]))
    assert values(result, "airnow-000020104", "pm25") == [4.1]
    assert result.skipped["duplicate hour"] == 1


def test_airnow_co_in_ppb_is_converted_to_ppm(tmp_path):
    result = parse_file(write(tmp_path, "airnow_co.dat", [airnow_line(parameter="CO", unit="PPB", value="410")]))
    assert values(result, "airnow-000020104", "co") == [0.41]
    assert result.conversions == ["co: 1 value converted from ppb to ppm (÷1000)"]


def test_airnow_ppb_for_particles_is_rejected(tmp_path):
    path = write(tmp_path, "airnow_pm_ppb.dat", [airnow_line(parameter="PM10", unit="PPB", value="12")])
    assert parse_file(path).rejected == [Rejected(1, "unit 'PPB' makes no sense for pm10")]


def test_airnow_non_numeric_value_is_rejected_not_fatal(tmp_path):
    lines = [airnow_line(parameter="OZONE", unit="PPB", value=v) for v in ("31", "N/A")]
    result = parse_file(write(tmp_path, "airnow_text.dat", lines))
    assert result.rejected == [Rejected(2, "o3 value 'N/A' is not a number")]
    assert len(result.measurements) == 1


def test_airnow_truncated_file_names_the_line(tmp_path):
    data = AIRNOW_DAT.read_bytes()
    cut = data[: data.index(b"\r\n", 5000) - 12]  # a download cut short in the data source of a line
    path = tmp_path / AIRNOW_DAT.name
    path.write_bytes(cut)
    line = cut.count(b"\n") + 1
    with pytest.raises(ImportFormatError, match=rf"HourlyData_2024041611.dat, line {line}: the file ends in the "
                                                r"middle of a line \(truncated\)") as err:
        parse_file(path)
    assert err.value.line == line


def test_airnow_garbled_line_names_the_line(tmp_path):
    lines = AIRNOW_DAT.read_bytes().decode("latin-1").splitlines()
    lines[40] = lines[40].replace("|", ";", 3)
    with pytest.raises(ImportFormatError, match=r"line 41: expected 9 fields, found 6"):
        parse_file(write(tmp_path, "HourlyData_2024041611.dat", lines))


def test_airnow_line_with_too_few_fields_names_the_line(tmp_path):
    lines = [airnow_line(), airnow_line(), "04/16/24|11:00|000020104|CHARLOTTETOWN|-4|OZONE|PPB|24"]
    with pytest.raises(ImportFormatError, match=r"line 3: expected 9 fields, found 8") as err:
        parse_file(write(tmp_path, "airnow_short.dat", lines))
    assert err.value.line == 3


def test_airnow_unparseable_date_names_the_line(tmp_path):
    lines = [airnow_line(), airnow_line().replace("04/16/24", "16/04/24")]
    with pytest.raises(ImportFormatError, match=r"line 2: unparseable date and time '16/04/24 11:00'"):
        parse_file(write(tmp_path, "airnow_date.dat", lines))


def test_airnow_unparseable_gmt_offset_names_the_line(tmp_path):
    with pytest.raises(ImportFormatError, match=r"line 1: unparseable GMT offset 'AST'"):
        parse_file(write(tmp_path, "airnow_offset.dat", [airnow_line().replace("|-4|", "|AST|")]))


# --------------------------------------------------------------------------- AirNow site locations, HourlyAQObs


def test_site_locations_give_one_station_per_site_with_its_metadata():
    result = parse_file(AIRNOW_SITES)
    stations = {s.code: s for s in result.stations}
    assert (len(stations), result.lines_read) == (91, 409)
    assert stations["airnow-484391006"] == ImportedStation(
        code="airnow-484391006", name="Haws Athletic Center C310", lat=32.7592, lon=-97.3414, utc_offset_hours=-6.0,
        source="airnow", active=True, agency="Texas Commission on Environmental Quality", country="US", state="TX",
        county="TARRANT", msa="Dallas-Fort Worth-Arlington, TX", area="Dallas-Fort Worth-Arlington, TX",
        timezone="America/Chicago")
    assert result.measurements.empty


def test_site_locations_group_sites_without_msa_by_county_and_state():
    stations = {s.code: s for s in parse_file(AIRNOW_SITES).stations}
    assert (stations["airnow-840390090003"].area, stations["airnow-840390090003"].timezone) == (
        "Athens, OH", "America/New_York")
    assert (stations["airnow-000107100"].area, stations["airnow-000107100"].timezone) == (
        "British Columbia, CA", "America/Vancouver")
    assert stations["airnow-458MY1010001"].timezone == "Etc/GMT-8"  # +8 h, a State Department monitor


def test_hourly_aqobs_gives_coordinates_values_and_airnow_aqi():
    result = parse_file(AIRNOW_AQOBS)
    stations = {s.code: s for s in result.stations}
    assert (stations["airnow-000020104"].lat, stations["airnow-000020104"].lon) == (46.2406, -63.1306)
    assert values(result, "airnow-000020104", "pm25") == [3.5]
    assert values(result, "airnow-000020104", "o3") == [24.0]
    aqi = result.published_aqi
    mine = aqi[aqi.station_code == "airnow-000020104"].set_index("parameter")["aqi"].to_dict()
    assert mine == {"pm25": 15, "o3": 22, "no2": 0}
    assert set(aqi["ts"]) == {pd.Timestamp("2024-04-16T11:00Z")}
    assert stations["airnow-80011G007"].name == "Estación CICEG"  # this file is UTF-8


@pytest.mark.parametrize("offset, zone", [(-5, "Etc/GMT+5"), (8, "Etc/GMT-8"), (0, "UTC"), (5.5, "Asia/Kolkata"),
                                          (5.75, "Asia/Kathmandu")])
def test_fixed_offsets_are_named_with_posix_signs(offset, zone):
    assert fixed_zone(offset) == zone


def test_area_zones_follow_the_country_and_its_exceptions():
    assert area_zone(-7, "US", "AZ") == "America/Phoenix"
    assert area_zone(-7, "US", "CO") == "America/Denver"
    assert area_zone(-6, "CA", "SASKATCHEWAN") == "America/Regina"
    assert area_zone(-6, "GT", None) == "Etc/GMT+6"


# --------------------------------------------------------------------------- detection


def test_unknown_format_is_a_format_error(tmp_path):
    path = write(tmp_path, "readings.txt", ["station;time;pm25", "a;2024-01-01;3"])
    with pytest.raises(ImportFormatError, match="unknown format"):
        parse_file(path)


def test_empty_file_is_a_format_error(tmp_path):
    path = tmp_path / "HourlyData_2024041614.dat"
    path.write_bytes(b"")
    with pytest.raises(ImportFormatError, match="empty"):
        parse_file(path)


def test_format_is_detected_from_content_not_extension(tmp_path):
    dat = tmp_path / "HourlyData_2024041611.txt"
    shutil.copy(AIRNOW_DAT, dat)
    assert parse_file(dat).source == "airnow"
    assert parse_file(str(OPENAQ_CSV)).source == "openaq"  # str paths work too
