"""Component tests drive the embedded app; the quality figures they measure go in the summary."""

from __future__ import annotations

import pytest

QUALITY_REPORT = pytest.StashKey[str]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    """Print the held-out quality figures in every run's log, with or without ``-s``."""
    report = config.stash.get(QUALITY_REPORT, None)
    if report:
        terminalreporter.write_sep("=", "answer quality on held-out data (bench/quality.py)")
        terminalreporter.write_line(report)
