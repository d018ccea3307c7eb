"""Catalog pages (fluids, actuators, SDS upload)."""
