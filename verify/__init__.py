"""The verification harness: claim registry, runner, CLI, rate fits, tightness records, strategies, reports.

Imports theory and implementations; neither of those imports verify.
"""

__version__ = "0.1.0"
