"""Operator checks: each figure against its configured thresholds, with a recommendation and its breaches."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from core.cache import AppCache, hit_rates, overall_hit_rate
from core.metrics import METRICS, Window
from core.settings import Settings
from core.times import from_epoch, iso, now

SEVERITY = {"no_data": 0, "ok": 0, "warning": 1, "critical": 2}
HISTORY_S = 3600  # sparklines and breaches look back one hour


@dataclass
class Check:
    key: str
    label: str
    value: float | None
    unit: str
    status: str  # ok | warning | critical | no_data
    warn: float | None
    crit: float | None
    recommendation: str
    series: list[dict] = field(default_factory=list)  # [{"minute": ISO time, "value": float | None}]

    def as_dict(self) -> dict:
        return asdict(self)


def grade(value: float | None, warn: float, crit: float, higher_is_worse: bool = True) -> str:
    if value is None:
        return "no_data"
    if higher_is_worse:
        return "critical" if value > crit else "warning" if value > warn else "ok"
    return "critical" if value < crit else "warning" if value < warn else "ok"


def _iso(minute: int) -> str:
    return iso(from_epoch(minute * 60))


def _slowest(window: Window, kind: str, window_s: int) -> dict | None:
    rows = [r for r in window.summary(kind, window_s) if r["p95_ms"] is not None]
    return max(rows, key=lambda r: r["p95_ms"]) if rows else None


LATENCY_CHECKS = (
    # key, label, kind, settings prefix, what to look at when it is slow
    ("api_p95", "API p95", "api", "api_p95",
     "check that endpoint's cache namespace (hit rate, TTL) and the database queries it runs"),
    ("callback_p95", "Callback p95", "callback", "callback_p95",
     "check the cache hit rate of what it reads and the size of the figure it returns"),
    ("db_p95", "DB query p95", "db", "db_p95",
     "run the index job (ix_measurements_ts, the primary key) and read that query's EXPLAIN ANALYZE"),
    ("inference_p95", "Inference p95", "inference", "inference_p95",
     "check the predictor's batch size, thread settings and that the compiled tf.function is in use"),
    ("inference_batch_p95", "Forecast batch p95", "inference_batch", "inference_batch_p95",
     "check the number of stations per batch and that every batch shape was compiled at load (Predictor.warm)"),
)


def feed_checks(settings: Settings, freshness: list[dict]) -> list[Check]:
    """One check per live source: how far its newest stored hour lags behind now, and its last run."""
    checks = []
    for feed in freshness:
        lag = feed["age_hours"]
        status = grade(lag, settings.feed_lag_warn_h, settings.feed_lag_crit_h)
        if feed["last_error"]:
            advice = f"Last run failed ({feed['failures']} in a row): {feed['last_error'][:200]}"
            status = "critical" if status == "no_data" else status
        elif status == "no_data":
            advice = "No hour stored yet."
        else:
            newest = iso(feed["newest_hour"])
            advice = (f"Newest hour {newest}; last run wrote {feed['last_rows'] or 0:,} values."
                      + (" AirNow files often arrive an hour or two late; look at the job history."
                         if status != "ok" else ""))
        checks.append(Check(f"feed:{feed['source']}", f"Feed {feed['source']} lag", lag, "h", status,
                            settings.feed_lag_warn_h, settings.feed_lag_crit_h, advice))
    return checks


def evaluate(settings: Settings, cache: AppCache, window: Window, window_s: int = 300) -> list[Check]:
    """Every check over window_s, with a per-minute series over the whole window for sparklines and breaches."""
    checks = []
    for key, label, kind, prefix, advice in LATENCY_CHECKS:
        warn, crit = getattr(settings, f"{prefix}_warn_ms"), getattr(settings, f"{prefix}_crit_ms")
        value = window.kind_percentiles(kind, window_s)["p95_ms"]
        status = grade(value, warn, crit)
        slowest = _slowest(window, kind, window_s)
        if status in ("warning", "critical") and slowest:
            advice_text = f"Slowest: {slowest['name']} at p95 {slowest['p95_ms']:.0f} ms — {advice}."
        elif status == "no_data":
            advice_text = "No samples in this window."
        else:
            advice_text = f"Within target (warning above {warn:g} ms)."
        series = [{"minute": _iso(p["minute"]), "value": p["p95_ms"]} for p in window.kind_series(kind)]
        checks.append(Check(key, label, value, "ms", status, warn, crit, advice_text, series))
    checks.append(_cache_check(settings, cache, window, window_s))
    checks.append(_pool_check(settings))
    return checks


def _cache_check(settings: Settings, cache: AppCache, window: Window, window_s: int) -> Check:
    rate = overall_hit_rate(window, window_s)
    status = grade(rate, settings.cache_hit_warn, settings.cache_hit_crit, higher_is_worse=False)
    if not cache.is_up():
        status, advice = "critical", ("Redis is unreachable: requests are served from the database; it "
                                      "reconnects by itself when Redis is back.")
    elif status in ("warning", "critical"):
        rates = {ns: r["hit_rate"] for ns, r in hit_rates(window, window_s).items() if r["hit_rate"] is not None}
        worst = min(rates, key=rates.get)
        advice = (f"Lowest: {worst} at {rates[worst]:.0%} — raise its TTL (now {settings.ttl(worst)} s) "
                  "or run the cache-warm job.")
    elif status == "no_data":
        advice = "No cache reads in this window."
    else:
        advice = f"Within target (warning below {settings.cache_hit_warn:.0%})."
    series = []
    for minute, counts in sorted(window.counter_series().items()):
        hits = sum(v for k, v in counts.items() if k.endswith(":hit"))
        total = sum(v for k, v in counts.items() if k.endswith((":hit", ":miss", ":bypass")))
        series.append({"minute": _iso(minute), "value": hits / total if total else None})
    return Check("cache_hit_rate", f"Cache hit rate ({cache.backend_name})", rate, "ratio", status,
                 settings.cache_hit_warn, settings.cache_hit_crit, advice, series)


def pool_use() -> dict:
    """Connections checked out, pool size and overflow in use, summed over every worker that reported."""
    reports = METRICS.sink.gauges("db_pool")
    return {"checked_out": int(sum(r.get("checked_out", 0) for r in reports)),
            "size": int(sum(r.get("size", 0) for r in reports)),
            "overflow": int(sum(r.get("overflow", 0) for r in reports)), "workers": len(reports)}


def _pool_check(settings: Settings) -> Check:
    use = pool_use()
    capacity = use["workers"] * (settings.pool_size + settings.max_overflow)
    if not use["workers"]:
        status, advice = "no_data", "No worker has reported its pool yet."
    elif use["checked_out"] >= capacity:
        status, advice = "critical", ("Pool exhausted: requests wait for a connection. Look for slow queries, "
                                      "then raise AQI_POOL_SIZE within PostgreSQL's max_connections.")
    elif use["overflow"] > 0:
        status, advice = "warning", "Pool in overflow: more connections than AQI_POOL_SIZE are open."
    else:
        status, advice = "ok", f"{use['checked_out']} of {use['size']} connections in use."
    return Check("db_pool", "DB pool use", float(use["checked_out"]), "connections", status,
                 float(use["size"]), float(capacity), advice)


def replica_check(settings: Settings, reports: list[dict]) -> Check:
    """The read replica's replay lag (seconds, see core.db.engine.replica_lag), the worst any process reported;
    critical when a process cannot reach it (its reads then go to the primary)."""
    warn, crit = settings.replica_lag_warn_s, settings.replica_lag_crit_s
    known = [r for r in reports if r.get("up") == 1 and r.get("standby") == 1 and not math.isnan(r["seconds"])]
    worst = max(known, key=lambda r: r["seconds"], default=None)
    value = worst["seconds"] if worst else None
    status = grade(value, warn, crit)
    if not reports:
        advice = "No process has measured the replica yet (each does every 5 s while it reads from it)."
    elif any(r.get("up") != 1 for r in reports):
        status, advice = "critical", ("Replica unreachable: reads go to the primary until it answers again "
                                      "(retried every few seconds).")
    elif any(r.get("standby") != 1 for r in reports):
        status, advice = "critical", ("AQI_DATABASE_READ_URL names a server that is not in recovery: point it at "
                                      "a streaming standby.")
    elif value is None:
        advice = "The standby has replayed no transaction since it started."
    else:
        advice = (f"{worst['bytes']:,.0f} bytes of WAL behind the primary."
                  + (" Look at the standby's I/O and CPU, long queries holding back replay, and the network."
                     if status != "ok" else ""))
    return Check("db_replica", "Replica lag", value, "s", status, warn, crit, advice)


def breaches(checks: list[Check]) -> list[dict]:
    """Runs of minutes outside the thresholds, per check: when each started, when it ended (None: ongoing)."""
    out = []
    for check in checks:
        if not check.series:
            continue
        higher = check.key != "cache_hit_rate"
        run = None
        for point in check.series:
            status = grade(point["value"], check.warn, check.crit, higher) if point["value"] is not None else "ok"
            if status in ("warning", "critical"):
                if run is None:
                    run = {"check": check.key, "label": check.label, "status": status, "started": point["minute"],
                           "ended": None, "worst": point["value"], "unit": check.unit}
                    out.append(run)
                if SEVERITY[status] > SEVERITY[run["status"]]:
                    run["status"] = status
                run["worst"] = max(run["worst"], point["value"]) if higher else min(run["worst"], point["value"])
            elif run is not None:
                run["ended"] = point["minute"]
                run = None
    return sorted(out, key=lambda b: b["started"], reverse=True)


def snapshot(settings: Settings, cache: AppCache, window_s: int = 300, freshness: list[dict] = ()) -> dict:
    """Everything the operator panel and GET /api/v1/metrics show (one read of the metrics store); `freshness`
    (core.feeds.freshness) adds a check per live source."""
    window = METRICS.window(HISTORY_S)
    checks = evaluate(settings, cache, window, window_s) + feed_checks(settings, list(freshness))
    if settings.database_read_url:
        checks.append(replica_check(settings, METRICS.sink.gauges("db_replica")))
    timers = window.summary(None, window_s)
    return {
        "window_s": window_s,
        "generated_at": iso(now()),
        "checks": [c.as_dict() for c in checks],
        "timers": timers,
        "cache": {"backend": cache.backend_name, "up": cache.is_up(),
                  "namespaces": hit_rates(window, window_s)},
        "pool": pool_use(),
        "breaches": breaches(checks),
    }
