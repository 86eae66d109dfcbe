"""Root pytest configuration for chatcontract.

Nothing is configured here: the conformance suite's options (--target, --base-url, --profile…)
come from its pytest plugin, registered as the `chatcontract` pytest11 entry point, so they work
from any folder; the tests' fixtures live beside them (tests/*/conftest.py).
"""
