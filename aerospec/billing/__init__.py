"""Plans, limits and (in the billing issue) subscriptions and payments."""
