"""The pollutants we store, their storage units and physical limits."""

# Storage units (DESIGN.md): PM in µg/m³, O3/NO2/SO2 in ppb, CO in ppm.
UNITS: dict[str, str] = {
    "pm25": "µg/m³",
    "pm10": "µg/m³",
    "o3": "ppb",
    "no2": "ppb",
    "so2": "ppb",
    "co": "ppm",
}
POLLUTANTS: tuple[str, ...] = tuple(UNITS)

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

# Quality flags stored with each measurement.
QUALITY_VALID = 0
QUALITY_SUSPECT = 1
QUALITY_INVALID = 2
QUALITY_NAMES: dict[int, str] = {QUALITY_VALID: "valid", QUALITY_SUSPECT: "suspect", QUALITY_INVALID: "invalid"}

# Molecular weights (g/mol) for ppb <-> µg/m³ at 25 °C and 1 atm (molar volume 24.45 L).
MOLECULAR_WEIGHT: dict[str, float] = {"o3": 48.00, "no2": 46.01, "so2": 64.07, "co": 28.01, "nh3": 17.03}
MOLAR_VOLUME_25C = 24.45
