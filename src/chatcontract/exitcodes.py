"""The exit codes of every chatcontract command (documented in README.md)."""

OK = 0  # specs valid / every target conformant
FAILED = 1  # a spec problem, or a target deviates from its spec
USAGE = 2  # bad usage or configuration (target file, baseline, platform name)
HARNESS = 3  # a target unreachable, or the harness itself failed
