"""config/prometheus/aqi-alerts.yml: valid for promtool, firing as its unit test says, on the metrics /metrics
really exposes, with the app's own thresholds and timings."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from core.settings import Settings
from core.thresholds import LATENCY_CHECKS

RULES = Path(__file__).resolve().parents[2] / "config" / "prometheus" / "aqi-alerts.yml"
RULES_TEST = RULES.with_name("aqi-alerts.test.yml")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is missing: install the Debian package "
                                                             "`prometheus` (make services does)")
DEFAULTS = {name: field.default for name, field in Settings.model_fields.items()}


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


@needs_promtool
def test_promtool_accepts_the_rules():
    result = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules())} rules found" in result.stdout


@needs_promtool
def test_the_api_rules_pend_fire_and_keep_firing_as_their_promtool_unit_test_expects():
    result = subprocess.run([PROMTOOL, "test", "rules", RULES_TEST.name], capture_output=True, text=True,
                            timeout=60, cwd=RULES.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_metric_in_the_rules_is_in_the_apps_real_metrics_output(client):
    assert client.get("/api/v1/cities").status_code == 200  # a request: timed, and the pool reported
    response = client.get("/metrics")
    assert response.status_code == 200
    exposed = {sample.name: set(sample.labels) for family in text_string_to_metric_families(response.text)
               for sample in family.samples}
    for rule in rules():
        for name, labels in re.findall(r"\b(aqi_[a-z_]+)(?:\{([^}]*)\})?", rule["expr"]):
            assert name in exposed, f"{rule['alert']}: {name} is not in /metrics"
            used = set(re.findall(r"([a-z_]+)=", labels))
            assert used <= exposed[name], f"{rule['alert']}: labels {used - exposed[name]} not on {name}"


def test_the_rules_cover_each_latency_check_with_the_apps_thresholds_and_timings():
    by_alert = {}
    for rule in rules():
        by_alert.setdefault(rule["alert"], []).append(rule)
        assert rule["for"] == f"{DEFAULTS['operator_alert_pending_s'] // 60}m"
        assert rule["keep_firing_for"] == f"{DEFAULTS['operator_alert_keep_firing_s'] // 60}m"
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
    for key, _label, kind, prefix, _advice in LATENCY_CHECKS:
        limits = {r["labels"]["severity"]: float(r["expr"].rsplit(">", 1)[1]) for r in by_alert[key]}
        assert f'kind="{kind}"' in by_alert[key][0]["expr"] and "0.95" in by_alert[key][0]["expr"]
        assert limits == {"warning": DEFAULTS[f"{prefix}_warn_ms"] / 1000,
                          "critical": DEFAULTS[f"{prefix}_crit_ms"] / 1000}
        assert "0.99" in by_alert[f"{kind}_p99"][0]["expr"]
    # Exhausted: every pooled and overflow connection in use, (pool_size + max_overflow) / pool_size of the size.
    critical = next(r for r in by_alert["db_pool"] if r["labels"]["severity"] == "critical")["expr"]
    assert critical.rstrip().endswith(f"* {DEFAULTS['pool_size'] + DEFAULTS['max_overflow']} / "
                                      f"{DEFAULTS['pool_size']}")


def test_the_cache_rules_use_the_panels_thresholds():
    limits = {r["labels"]["severity"]: float(r["expr"].rsplit("<", 1)[1]) for r in rules()
              if r["alert"] == "cache_hit_rate"}
    assert limits == {"warning": DEFAULTS["cache_hit_warn"], "critical": DEFAULTS["cache_hit_crit"]}
