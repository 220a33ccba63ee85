"""Parses Prometheus text (stdin) with prometheus_client's own parser, the
one Prometheus' Python tooling uses, and prints the families as JSON:
[{"name", "type", "help", "samples": [{"name", "labels", "value"}]}].
A text that does not parse exits non-zero with the parser's error."""
import json
import math
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    sys.exit("prometheus_client is missing: python3 -m pip install 'prometheus-client==0.26.0' (.ci/run does)")

families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        "name": family.name,
        "type": family.type,
        "help": family.documentation,
        "samples": [
            {"name": s.name, "labels": s.labels, "value": None if math.isnan(s.value) else (s.value if math.isfinite(s.value) else str(s.value))}
            for s in family.samples
        ],
    })
json.dump(families, sys.stdout)
