#!/usr/bin/env python3
"""Checks contrib/grafana/reef.json against reef's metrics.

  1. reef.json is what dashboard.py writes (edit the script, not the JSON);
  2. every reef_* / process_* metric a query names is a family in reef's /metrics output
     (printed by //server/metrics:metrics_dump);
  3. every query parses as PromQL (`promtool check rules` over a rule file made of them,
     Grafana's variables replaced by plain values);
  4. the checks can fail: a query naming a metric reef does not export is caught.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

METRIC = re.compile(r"\b(?:reef|process)_[a-zA-Z0-9_]+\b")
# Grafana's variables, as a Prometheus server would see them after substitution.
VARIABLES = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h",
             '"$instance"': '".*"'}


def queries(dashboard):
    """Every PromQL expression in the dashboard: panel targets and variable queries."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("expr"), str):
                found.append(node["expr"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(dashboard["panels"])
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and isinstance(query, str):
            match = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
            found.append(match.group(1) if match else query)
    return found


def exported_families(text):
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def missing_metrics(exprs, families):
    return sorted({name for expr in exprs for name in METRIC.findall(expr)} - families)


def promql_errors(exprs):
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": substitute(expr)}
        for i, expr in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False,
                                     dir=os.environ.get("TEST_TMPDIR")) as f:
        json.dump(rules, f)  # JSON is YAML
    result = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True,
                            text=True)
    return None if result.returncode == 0 else result.stdout + result.stderr


def substitute(expr):
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    return expr


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    failures = []

    with open(os.path.join(here, "reef.json")) as f:
        committed = f.read()
    out = os.path.join(os.environ.get("TEST_TMPDIR", tempfile.gettempdir()), "generated.json")
    subprocess.run([sys.executable, os.path.join(here, "dashboard.py"), out], check=True)
    with open(out) as f:
        if f.read() != committed:
            failures.append("reef.json differs from what dashboard.py writes: run "
                            "/usr/bin/python3 contrib/grafana/dashboard.py contrib/grafana/reef.json")

    dashboard = json.loads(committed)
    exprs = queries(dashboard)
    if len(exprs) < 10:
        failures.append(f"only {len(exprs)} queries found: is the dashboard read right?")
    text = subprocess.run([os.environ.get("METRICS_DUMP", "server/metrics/metrics_dump")],
                          check=True, capture_output=True, text=True).stdout
    families = exported_families(text)
    missing = missing_metrics(exprs, families)
    if missing:
        failures.append(f"the dashboard queries metrics reef does not export: {missing}")
    errors = promql_errors(exprs)
    if errors:
        failures.append(f"promtool check rules refused a query:\n{errors}")

    # The checks themselves: a made-up metric and a broken query must be caught.
    if missing_metrics(["rate(reef_no_such_thing_total[1m])"], families) != ["reef_no_such_thing_total"]:
        failures.append("missing_metrics does not catch an unknown metric")
    if promql_errors(["sum(reef_torrents"]) is None:
        failures.append("promtool accepted a broken query: this test would prove nothing")

    for failure in failures:
        print("FAIL:", failure, file=sys.stderr)
    if failures:
        return 1
    print(f"dashboard: {len(exprs)} queries over {len(set(METRIC.findall(' '.join(exprs))))} "
          f"metrics, all exported by reef, all valid PromQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
