"""Component ids, one namespace per page: the DOM keeps the page-prefixed names that tests and access rules use."""
from __future__ import annotations


class Map:
    CITY, STANDARD, POLLUTANT = "map-city", "map-standard", "map-pollutant"
    LAYERS, PALETTE, VIEW = "map-layers", "map-palette", "map-view"
    START, END, BACK, PLAY, FORWARD = "map-start", "map-end", "map-back", "map-play", "map-forward"
    TIME, TIME_COL, TIME_LABEL, RANGE_NOTE = "map-time", "map-time-col", "map-time-label", "map-range-note"
    EXPORT, EXPORT_NOTE, EMBED_COPY, EMBED_CODE = "map-export", "map-export-note", "map-embed-copy", "map-embed-code"
    GRAPH, GRAPH_WRAP, TABLE, TABLE_GRID = "map-graph", "map-graph-wrap", "map-table", "map-table-grid"
    RANKING, RANK_CITIES, RANK_STATIONS = "map-ranking", "map-rank-cities", "map-rank-stations"
    LEGEND, AS_OF, PANEL = "map-legend", "map-as-of", "map-station-panel"
    STATION_NAME, STATION_AQI = "map-station-name", "map-station-aqi"
    SELECTED, REFRESH, PLAYER, URL_SINK = "map-selected", "map-refresh", "map-player", "map-url-sink"
    STATION_SOURCE, STATION_AGE = "map-station-source", "map-station-age"
    SEARCH, NEAR, NEAR_NOTE, POSITION = "map-search", "map-near", "map-near-note", "map-position"
    CLUSTER_ZOOM, COMPARE, COMPARE_WRAP = "map-cluster-zoom", "map-compare", "map-compare-wrap"


class Forecast:
    CITY, STATION, PARAMETER = "forecast-city", "forecast-station", "forecast-parameter"
    STATUS, STATUS_MESSAGE = "forecast-status", "forecast-status-message"
    GRAPH, DAILY, EXPLAIN = "forecast-graph", "forecast-daily", "forecast-explain"
    MODEL, VERSION, SKILL, SKILL_TABLE = "forecast-model", "forecast-version", "forecast-skill", "forecast-skill-table"

    @staticmethod
    def model_state(status: str) -> str:
        """The unavailable alert's id names the model's state: forecast-model-missing / -corrupt."""
        return f"forecast-model-{status}"


class Perf:
    WINDOW, UPDATED, REFRESH = "perf-window", "perf-updated", "perf-refresh"
    BREACHES, CACHE, CACHE_BACKEND = "perf-breaches", "perf-cache", "perf-cache-backend"
    TIMERS, TIMER_TABLE = "perf-timers", "perf-timer-table"
    TILE = "perf-tile"

    @staticmethod
    def tile(check) -> dict:
        """One check's tile; `check` is its key, or ALL / MATCH in a callback."""
        return {"type": Perf.TILE, "check": check}


class Admin:
    NOTICE, BUSY, HISTORY, HISTORY_TABLE, POLL = (
        "admin-notice", "admin-busy", "admin-history", "admin-history-table", "admin-poll")
    RUN, CANCEL, PROGRESS, STATE = "admin-run", "admin-cancel", "admin-progress", "admin-state"

    @staticmethod
    def job(kind: str, job) -> dict:
        """A job card's part (RUN, CANCEL, PROGRESS, STATE); `job` is its name, or ALL in a callback."""
        return {"type": kind, "job": job}


class Calc:
    STANDARD, POLLUTANT, UNIT = "calc-standard", "calc-pollutant", "calc-unit"
    CONCENTRATION, RESULT, VALUE, ERROR = "calc-concentration", "calc-result", "calc-aqi-value", "calc-error"
    AQI, RANGE, RANGE_TEXT, CATEGORY_RANGE = "calc-aqi", "calc-range", "calc-range-text", "calc-category-range"


class AdminModel:
    """The admin page's forecast model section: which version serves, every version on disk."""
    STATUS, VERSIONS, VERSIONS_TABLE, POLL = (
        "admin-model-status", "admin-model-versions", "admin-model-versions-table", "admin-model-poll")


class PerfAlert:
    """The operator panel's alerting: each tile's rule state and buttons, the action notice, the history."""
    STATE, SILENCE, ACK = "perf-alert-state", "perf-alert-silence", "perf-alert-ack"
    NOTICE, HISTORY, HISTORY_TABLE = "perf-alert-notice", "perf-alert-history", "perf-alert-history-table"

    @staticmethod
    def state(check) -> dict:
        """A tile's rule state line; `check` is its key, or ALL in a callback."""
        return {"type": PerfAlert.STATE, "check": check}

    @staticmethod
    def silence(check, duration) -> dict:
        """A tile's Silence button for `duration` (core.alerts.operator.SILENCE_CHOICES), or ALL."""
        return {"type": PerfAlert.SILENCE, "check": check, "duration": duration}

    @staticmethod
    def ack(check) -> dict:
        return {"type": PerfAlert.ACK, "check": check}
