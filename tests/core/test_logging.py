from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from core.logging import JsonFormatter, configure_logging, request_id_var


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    root.handlers, root.level = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_outbound_urls_are_not_logged_at_info() -> None:
    configure_logging("INFO", "text")

    # httpx logs each URL it calls at INFO; Slack webhook URLs carry their secret in the path.
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("httpcore").isEnabledFor(logging.INFO)


@pytest.mark.usefixtures("restore_logging")
def test_json_format_writes_one_object_per_line_with_the_request_id() -> None:
    configure_logging("INFO", "json")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    token = request_id_var.set("req-42")
    try:
        logging.getLogger("api.test").info("hello %s", "world", extra={"job_id": "j-1"})
    finally:
        request_id_var.reset(token)

    (line,) = stream.getvalue().splitlines()
    payload = json.loads(line)
    assert payload["message"] == "hello world"
    assert payload["request_id"] == "req-42"
    assert payload["job_id"] == "j-1"
    assert payload["level"] == "INFO"
    assert isinstance(logging.getLogger().handlers[0].formatter, JsonFormatter)
