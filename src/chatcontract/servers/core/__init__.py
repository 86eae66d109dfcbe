"""The small core every reference server shares: clock, seed data, auth, request checks, hooks."""
