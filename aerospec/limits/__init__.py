"""Plan limits and features in one home: what a tenant may use, how much it has used, and what to say
when it may not use more.

- `effective`: the tenant's limits and feature flags, its plan's (billing.plans) with the tenant's
  overrides and bought seats applied.
- `counters`: the quota counters (Redis and database), their periods, the database's own counts,
  and the tie of a Redis reservation to the session's transaction.
- `messages`: the upgrade prompt and the messages of every 402 of the plan (limits, features, seats)
  and of the 80 % warning.

The capabilities call this package: billing.usage meters and emails, configurations reserve their
quotas, tenancy checks seats and features, the API counts its calls. It calls none of them: it imports
only billing.plans, models, errors, queueing and tenancy.permissions (tests/test_import_graph.py).
"""
