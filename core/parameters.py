"""The pollutants we store, their storage units and physical limits, and the quality flags of measurements."""
# Units and molecular weights live with the AQI engine, which may import nothing outside core/aqi.
from core.aqi.pollutants import MOLAR_VOLUME_25C, MOLECULAR_WEIGHT, POLLUTANTS, UNITS

__all__ = ["MOLAR_VOLUME_25C", "MOLECULAR_WEIGHT", "PHYSICAL_MAX", "POLLUTANTS", "QUALITY_INVALID", "QUALITY_NAMES",
           "QUALITY_SUSPECT", "QUALITY_VALID", "UNITS"]

# Values outside [0, max] cannot be a real ambient hourly reading (in storage units):
# they are instrument faults, not air.
PHYSICAL_MAX: dict[str, float] = {
    "pm25": 2000.0,
    "pm10": 5000.0,
    "o3": 1000.0,
    "no2": 3000.0,
    "so2": 3000.0,
    "co": 200.0,
}

# Quality flags stored with each measurement. Readings flagged below QUALITY_INVALID are usable
# (`quality < QUALITY_INVALID`): that comparison is the one threshold every query and page applies.
QUALITY_VALID = 0
QUALITY_SUSPECT = 1
QUALITY_INVALID = 2
QUALITY_NAMES: dict[int, str] = {QUALITY_VALID: "valid", QUALITY_SUSPECT: "suspect", QUALITY_INVALID: "invalid"}
