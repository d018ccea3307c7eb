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


def supplier_job_timeout(app: Flask | None = None) -> int:
    """The time limit of a job that makes one supplier call: every attempt, every backoff, a margin.

    Short on purpose: a worker killed during the call leaves the job "started", and RQ retries it
    only once this limit has passed (jobs.worker), so the order goes out again within two minutes.
    """
    app = app or current_app._get_current_object()
    timeout = float(app.config.get("SUPPLIER_TIMEOUT_SECONDS", 5.0))
    retries = int(app.config.get("SUPPLIER_RETRIES", 2))
    return max(30, int((retries + 1) * timeout + retries * 2 + 10))
