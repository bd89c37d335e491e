"""The read-file formats the import pipeline dispatches to: one registry, owned here.

mdm does not know any file format. The apps that do (integrations: CMEP, CSV, MultiSpeak)
register a ReadFormat in their AppConfig.ready(); a new file format is one registration. Each
format says how its bytes parse and how many header lines of the original file a single fixed
quarantined line needs in front of it to parse again (a CSV line only parses under its header).
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from mdm.records import ParseResult


@dataclass(frozen=True)
class ReadFormat:
    name: str
    # (content bytes, source name) -> ParseResult; a file that cannot be decoded is a
    # RecordError in the result, not an exception.
    parser: Callable[..., ParseResult]
    header_lines: int = 0
    title: str = ""
    file_suffixes: tuple[str, ...] = ()
    # True: the parser also takes `tz` (the zone of offset-less timestamps, chosen per file)
    # and `limits` (mdm.importing.screen.ReadLimits, to name a bad record's exact line).
    takes_options: bool = False

    def parse(self, content: bytes, source_name: str, *, tz: dt.tzinfo | None = None,
              limits: Any = None) -> ParseResult:
        if self.takes_options:
            return self.parser(content, source_name, tz=tz or read_file_zone(), limits=limits)
        return self.parser(content, source_name)

    def prelude(self, content: bytes) -> str:
        if not self.header_lines:
            return ""
        lines = content.decode("utf-8-sig", errors="replace").splitlines(keepends=True)
        return "".join(lines[: self.header_lines])


def read_file_zone() -> zoneinfo.ZoneInfo:
    """The zone of timestamps a read file gives without an offset (CMEP always; CSV and
    MultiSpeak when naive): UTILIS_READ_FILE_TIME_ZONE, UTC unless the head-end sends local time.
    Parsers read it at each parse, so a changed setting applies without a restart."""
    return zoneinfo.ZoneInfo(settings.UTILIS_READ_FILE_TIME_ZONE)


FORMATS: dict[str, ReadFormat] = {}


def register_read_format(fmt: ReadFormat) -> None:
    FORMATS[fmt.name] = fmt


class UnknownFormatError(ValueError):
    pass


def read_format(name: str) -> ReadFormat:
    """Raises UnknownFormatError for a format nobody registered."""
    try:
        return FORMATS[name]
    except KeyError:
        raise UnknownFormatError(f"Unknown read format {name!r}; known: {', '.join(sorted(FORMATS))}") from None
