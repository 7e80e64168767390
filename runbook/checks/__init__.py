"""Verify's checks: small typed objects in a registry (see registry.py)."""

from ..vocabulary import Kind, Scope, Status
from .base import Check, ClientFacts, ClusterFacts, NodeFacts, Outcome, Probe
from .registry import Registry, build_registry, catalog

__all__ = [
    "Check",
    "ClientFacts",
    "ClusterFacts",
    "Kind",
    "NodeFacts",
    "Outcome",
    "Probe",
    "Registry",
    "Scope",
    "Status",
    "build_registry",
    "catalog",
]
