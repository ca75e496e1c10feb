"""No phone number in any log line: the check itself, and the run so far (the session
checks the whole run again when it ends, see tests/conftest.py)."""

from __future__ import annotations

import logging

from logcheck import CapturedLines, install, phone_lines


def test_the_check_finds_every_usual_spelling_of_a_number() -> None:
    lines = [
        "sent to 07400 123456",
        "sent to 07400123456",
        "sent to +44 7400 123456",
        "sent to +447400123456",
        "sent to 447400123456",
        "from 01134960000",
        "outbox message 12 attempt 3: delivered",
        "tenant T-0001 flat N-12 reference dw-0123456789abcdef",
        "port 18090, 1764600000 s",
    ]
    assert phone_lines(lines) == lines[:6]


def test_a_handler_sees_what_a_logger_writes() -> None:
    handler = CapturedLines()
    logger = logging.getLogger("tests.logcheck.example")
    logger.addHandler(handler)
    logger.propagate = False  # this number must not reach the run's own check
    try:
        logger.warning("texting %s", "07400 123456")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert phone_lines(handler.lines) == ["tests.logcheck.example WARNING texting 07400 123456"]


def test_no_phone_number_in_any_log_line_so_far() -> None:
    captured = install()
    assert captured.lines, "the run's log lines are being kept"
    assert phone_lines(captured.lines) == []
