"""chatcontract: conformance suite for chat moderation APIs.

The specs in `specs/` and the JSON Schemas in `schemas/` are the single source of truth; this
package loads them (`chatcontract.specs`), checks them (`chatcontract.speccheck`), and lists what
they describe (`chatcontract.inventory`). The command line lives in `chatcontract.cli`.
"""

__version__ = "0.1.0"
