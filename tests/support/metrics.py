"""Scrapes of `/metrics`, parsed with prometheus-client's own parser, read sample by sample."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

SampleKey = tuple[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Scrape:
    samples: Mapping[SampleKey, float]
    families: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples: dict[SampleKey, float] = {}
        names = set()
        for family in text_string_to_metric_families(text):
            names.add(family.name)
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                assert key not in samples, f"sample {key} appears twice"
                samples[key] = sample.value
        return cls(samples, frozenset(names))

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when it is not there (a labelled child never touched)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in self.samples

    def labels_of(self, name: str, label: str) -> set[str]:
        return {dict(labels)[label] for sample, labels in self.samples if sample == name}

    def delta(self, before: Scrape, name: str, **labels: str) -> float:
        return self.value(name, **labels) - before.value(name, **labels)


async def scrape(client: httpx.AsyncClient, headers: Mapping[str, str] | None = None) -> Scrape:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape.parse(response.text)


def scrape_sync(base_url: str, headers: Mapping[str, str] | None = None) -> Scrape:
    """A scrape on a connection of its own (a multi-worker server spreads them over workers)."""
    response = httpx.get(f"{base_url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return Scrape.parse(response.text)
