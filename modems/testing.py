"""Test helpers for SIMs and networks (``create_sim()`` and friends)."""

from __future__ import annotations

from modems.models import Network, SimCard


def create_network(name: str = "Vodafone UK", **fields) -> Network:
    fields.setdefault("carrier_names", name.split()[0])
    network, _ = Network.objects.get_or_create(name=name, defaults=fields)
    return network


def create_sim(*, network: Network | None = None, **fields) -> SimCard:
    """A gateway-account SIM on the locmem backend unless ``device`` is given."""
    if not fields.get("device"):
        fields.setdefault("backend", "locmem")
    fields.setdefault("number", "+447700900001")
    return SimCard.objects.create(network=network or create_network(), **fields)
