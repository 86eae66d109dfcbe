"""Root pytest configuration for chatcontract.

The conformance suite's options (--target, --base-url, --profile…) come from its pytest plugin,
registered as the `chatcontract` pytest11 entry point, so they work from any folder; the tests'
fixtures live beside them (tests/*/conftest.py).

One setting: any test run in this checkout keeps hypothesis' caches where a suite run keeps them
(the user's cache folder, see chatcontract.suite.plugin.hypothesis_home), so no run of the
project's tests, whole or in part, leaves a `.hypothesis/` in the checkout.
"""

import os

if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    from hypothesis.configuration import set_hypothesis_home_dir

    from chatcontract.suite.plugin import hypothesis_home

    set_hypothesis_home_dir(hypothesis_home())
