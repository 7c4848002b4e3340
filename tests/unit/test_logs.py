"""Log lines cannot be forged with control characters in client values (control/logs.py)."""

from __future__ import annotations

import logging

from argo_proxy.control.logs import EscapingFormatter, escape_controls


def test_controls_are_escaped_and_plain_text_untouched() -> None:
    assert escape_controls("gpt-4o") == "gpt-4o"
    assert escape_controls("a\nb\rc\x1b[31md\x00") == "a\\nb\\rc\\x1b[31md\\x00"
    assert escape_controls("ünïcødé ✓") == "ünïcødé ✓"


def test_a_record_with_a_newline_in_an_argument_stays_one_line() -> None:
    record = logging.LogRecord(
        "argo_proxy", logging.INFO, __file__, 1, "model %r unknown: %s", ("x", "a\nFAKE"), None
    )
    line = EscapingFormatter("%(levelname)s %(message)s").format(record)
    assert line == "INFO model 'x' unknown: a\\nFAKE"
