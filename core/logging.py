"""Logging filters. A refused request (403) is an expected answer, not an error: one line with
the path and the user is enough; a traceback per refusal floods the log."""
from __future__ import annotations

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
