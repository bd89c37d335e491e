"""The read formats the import pipeline dispatches to: one entry per format.

The real formats come from integrations.registry (each parser lives in integrations/<format>/
and is listed there once), so a new file format is one entry in that registry. What the
pipeline adds per format is how a single fixed quarantined line is re-parsed: a CSV line only
parses under its file's header."""
from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings

from mdm.records import ParseResult

# Lines of the original file that a resubmitted record needs in front of it.
HEADER_LINES = {"csv": 1}


@dataclass(frozen=True)
class ReadFormat:
    name: str
    # (content bytes, source name) -> ParseResult, or "module:function" of such a function
    parser: str | Callable[[bytes, str], ParseResult]
    header_lines: int = 0

    def parse(self, content: bytes, source_name: str) -> ParseResult:
        func = self.parser
        if isinstance(func, str):
            module_name, func_name = func.split(":")
            func = getattr(import_module(module_name), func_name)
        return func(content, source_name)

    def prelude(self, content: bytes) -> str:
        if not self.header_lines:
            return ""
        lines = content.decode("utf-8-sig", errors="replace").splitlines(keepends=True)
        return "".join(lines[: self.header_lines])


def read_file_zone() -> zoneinfo.ZoneInfo:
    """The zone of timestamps a read file gives without an offset (CMEP always; CSV and
    MultiSpeak when naive): UTILIS_READ_FILE_TIME_ZONE, UTC unless the head-end sends local time."""
    return zoneinfo.ZoneInfo(settings.UTILIS_READ_FILE_TIME_ZONE)


def _integration_formats() -> dict[str, ReadFormat]:
    from integrations.registry import parse_read_file, read_formats

    def parser_for(key: str) -> Callable[[bytes, str], ParseResult]:
        # The zone is read at each parse, so a changed setting applies without a restart.
        def parse(content: bytes, source_name: str) -> ParseResult:
            return parse_read_file(key, content, source_name, tz=read_file_zone())

        return parse

    return {
        key: ReadFormat(key, parser_for(key), header_lines=HEADER_LINES.get(key, 0))
        for key in read_formats()
    }


FORMATS: dict[str, ReadFormat] = _integration_formats()


class UnknownFormatError(ValueError):
    pass


def read_format(name: str) -> ReadFormat:
    """Raises UnknownFormatError for a format with no entry."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(f"Unknown read format {name!r}; known: {', '.join(sorted(FORMATS))}") from None
