"""The pollutants the AQI engine reads, their storage units, and the molecular weights for ppb ↔ µg/m³."""

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

# Molecular weights (g/mol) for ppb <-> µg/m³ at 25 °C and 1 atm (molar volume 24.45 L).
MOLECULAR_WEIGHT: dict[str, float] = {"o3": 48.00, "no2": 46.01, "so2": 64.07, "co": 28.01, "nh3": 17.03}
MOLAR_VOLUME_25C = 24.45
