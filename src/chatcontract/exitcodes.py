"""The exit codes of every chatcontract command (documented in README.md)."""

OK = 0  # specs valid / every target conformant
FAILED = 1  # a spec problem, or a target deviates from its spec
USAGE = 2  # bad usage or configuration (target file, baseline, platform name)
HARNESS = 3  # a target unreachable, or the harness itself failed
INTERRUPTED = 130  # stopped by Ctrl-C (SIGINT): the reports hold what ran and say INTERRUPTED
TERMINATED = 143  # stopped by SIGTERM (a CI timeout, `kill`): the same reports
