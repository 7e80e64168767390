"""Verify's checks: small typed objects in a registry (see registry.py)."""

from .base import ClientFacts, ClusterFacts, NodeFacts, Outcome, Probe, Status
from .registry import Registry, build_registry

__all__ = [
    "ClientFacts",
    "ClusterFacts",
    "NodeFacts",
    "Outcome",
    "Probe",
    "Registry",
    "Status",
    "build_registry",
]
