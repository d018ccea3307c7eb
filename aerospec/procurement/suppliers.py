"""The app's supplier clients, built once per app from its settings and shared across threads."""

from __future__ import annotations

from flask import Flask, current_app

from aerospec.procurement.clients import SupplierClient, clients_from_config


def supplier_clients(app: Flask | None = None) -> list[SupplierClient]:
    """Spencer and Coster clients for this app (httpx clients are thread-safe; one pool each)."""
    app = app or current_app._get_current_object()
    clients = app.extensions.get("aerospec_suppliers")
    if clients is None:
        clients = app.extensions["aerospec_suppliers"] = clients_from_config(app.config)
    return clients


def supplier_client(name: str, app: Flask | None = None) -> SupplierClient:
    for client in supplier_clients(app):
        if client.name == name:
            return client
    raise KeyError(f"unknown supplier {name!r}")


def quote_timeout(app: Flask | None = None) -> float:
    """The whole comparison's deadline: one supplier attempt's timeout plus a little."""
    app = app or current_app._get_current_object()
    return float(app.config.get("SUPPLIER_TIMEOUT_SECONDS", 5.0))
