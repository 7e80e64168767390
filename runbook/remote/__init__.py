"""Reaching a node: OpenSSH with a ControlMaster, Fabric uploads, network namespaces."""
