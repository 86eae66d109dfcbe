"""The conformance suite: pytest test modules plus the plugin that points them at targets.

Layers: `test_schema_layer.py` (schemathesis per operation), `test_documented_errors.py` (each
documented error provoked on purpose), `test_semantics.py` (a hypothesis state machine per
platform, in `semantics/`). `plugin.py` reads target files (or starts the reference servers),
parametrizes every test by target, and writes the reports.
"""
