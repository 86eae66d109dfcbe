"""Root pytest configuration for chatcontract.

The spec self-checks live in `tests/specs/`; the conformance suite's options (targets, base URL,
profiles) will be registered here so they work from any folder.
"""
