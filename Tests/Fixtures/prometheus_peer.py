"""Parses a Prometheus text exposition (stdin) with the official Python client's parser
(PyPI `prometheus_client`, `text_string_to_metric_families`) and prints what it read as JSON:
{family: {"type": ..., "help": ..., "samples": [{"name", "labels", "value"}]}}.

A malformed exposition makes the parser raise: the script then exits 1 with the error, so the
Swift test (MetricsTests) fails naming it.
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families

text = sys.stdin.read()
families = {}
try:
    for family in text_string_to_metric_families(text):
        if family.name in families:
            raise ValueError(f"family {family.name} appears twice")
        families[family.name] = {
            "type": family.type,
            "help": family.documentation,
            "samples": [
                {"name": s.name, "labels": s.labels, "value": None if math.isnan(s.value) else s.value}
                for s in family.samples
            ],
        }
except Exception as error:  # the parser's own message names the bad line
    print(f"prometheus_client could not parse the exposition: {error}", file=sys.stderr)
    sys.exit(1)
json.dump(families, sys.stdout)
