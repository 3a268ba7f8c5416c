"""deploy/monitoring/: the alert rules and the scrape config validate with promtool (and
the rules' unit tests in alerts_test.yml pass), and the dashboard and the rules name only
metrics that core.metrics exports."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

from core import metrics

MONITORING = Path(__file__).resolve().parent.parent.parent / "deploy" / "monitoring"
METRIC_NAME = re.compile(r"\bbrisk_[a-z_]+")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        if os.environ.get("BRISK_PROMTOOL_REQUIRED"):
            pytest.fail("promtool is required here (Debian's prometheus package)")
        pytest.skip("no promtool (Debian's prometheus package)")
    return subprocess.run([binary, *args], cwd=MONITORING, capture_output=True, text=True, timeout=60, check=False)


def test_alert_rules_are_valid() -> None:
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_fire_on_bad_traffic_and_not_on_good() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_scrape_config_is_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_cover_what_operators_asked_for() -> None:
    text = (MONITORING / "alerts.yml").read_text()
    for alert in (
        "BriskHighP99Latency",
        "BriskHigh5xxRate",
        "BriskCatalogueCacheHitRateLow",
        "BriskSQLPerRequestAboveBudget",
    ):
        assert f"alert: {alert}" in text, alert


def exported_names() -> set[str]:
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                base = family.name
                names |= {base, f"{base}_total", f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    return names


def test_dashboard_and_rules_name_only_exported_metrics() -> None:
    exported = exported_names()
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = {name for expr in expressions for name in METRIC_NAME.findall(expr)}
    used |= set(METRIC_NAME.findall((MONITORING / "alerts.yml").read_text()))
    assert used, "no metric found"
    assert used <= exported, used - exported
    # Every metric is on the dashboard.
    shown = {
        name.removesuffix("_total").removesuffix("_bucket").removesuffix("_sum").removesuffix("_count") for name in used
    }
    assert {name for name in exported if not name.endswith(("_total", "_bucket", "_sum", "_count"))} <= shown
