"""Reading the service's own ``/metrics`` text in tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from sfacal.net import metrics


def samples(text: str | None = None) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the exposition (default: this data directory's counters, no database)."""
    if text is None:
        text = metrics.exposition()[0].decode()
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(
    all_samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return all_samples.get((name, frozenset(labels.items())), 0.0)
