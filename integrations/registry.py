"""Every outside integration, in one place. Each is a folder under integrations/ with the
same shape; adding one is copying a sibling folder and adding a line here.

Read-file formats name their parser as a dotted path so that looking one up does not
import every format (lxml for MultiSpeak is only loaded when a MultiSpeak file arrives).
`register_read_formats` (called from IntegrationsConfig.ready()) puts each into the import
pipeline's registry, mdm.importing.registry."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from mdm.importing import ReadFormat, read_file_zone, register_read_format
from mdm.records import ParseResult, RecordError


class UnknownReadFormat(LookupError):
    """No integration reads files of this format."""


@dataclass(frozen=True)
class Integration:
    key: str  # the folder under integrations/ and the `format` of its ParseResult
    title: str
    read_parser: str = ""  # "module:function" taking (content, source_name) -> ParseResult
    read_content: str = ""  # "text" or "bytes": what the read parser takes
    file_suffixes: tuple[str, ...] = ()
    # Lines of the original file that a single re-submitted line needs in front of it.
    header_lines: int = 0


INTEGRATIONS: tuple[Integration, ...] = (
    Integration(
        key="cmep",
        title="CMEP MEPMD01 interval and register records",
        read_parser="integrations.cmep.parser:parse_cmep",
        read_content="text",
        file_suffixes=(".cmep", ".mep", ".txt"),
    ),
    Integration(
        key="csv",
        title="Utilis CSV read layout",
        read_parser="integrations.csv_reads.parser:parse_csv",
        read_content="text",
        file_suffixes=(".csv",),
        header_lines=1,  # the column header: a line parses only under it
    ),
    Integration(
        key="multispeak",
        title="MultiSpeak 4.1 meterReading / intervalData / formattedBlock payloads",
        read_parser="integrations.multispeak.readings:parse_multispeak",
        read_content="bytes",
        file_suffixes=(".xml",),
    ),
)


def integration(key: str) -> Integration:
    """Raises UnknownReadFormat."""
    for candidate in INTEGRATIONS:
        if candidate.key == key:
            return candidate
    raise UnknownReadFormat(f"no integration {key!r}; known: {', '.join(i.key for i in INTEGRATIONS)}")


def read_formats() -> tuple[str, ...]:
    return tuple(i.key for i in INTEGRATIONS if i.read_parser)


def read_parser(key: str) -> Callable[..., ParseResult]:
    """The parse function of a read format. Raises UnknownReadFormat."""
    found = integration(key)
    if not found.read_parser:
        raise UnknownReadFormat(f"integration {key!r} does not read meter data files")
    module_name, function_name = found.read_parser.split(":")
    return getattr(import_module(module_name), function_name)


def parse_read_file(key: str, content: bytes, source_name: str, **options) -> ParseResult:
    """Parse a file's bytes with the format's parser, decoding text formats as UTF-8 (a
    byte-order mark is dropped). Raises UnknownReadFormat; a file that is not UTF-8 is one
    RecordError, not an exception, so it lands in the quarantine like any bad record."""
    found = integration(key)
    parser = read_parser(key)
    if found.read_content == "bytes":
        return parser(content, source_name, **options)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        return ParseResult(
            source_name=source_name,
            format=key,
            errors=[RecordError(line=line, field="encoding", message=f"not UTF-8 text: {exc.reason}", raw="")],
        )
    return parser(text, source_name, **options)


def register_read_formats() -> None:
    """Register every read format with mdm's import pipeline. Each parse reads the head-end's
    zone for offset-less timestamps (mdm.importing.read_file_zone) at that moment."""
    for found in INTEGRATIONS:
        if not found.read_parser:
            continue

        def parse(content: bytes, source_name: str, _key: str = found.key) -> ParseResult:
            return parse_read_file(_key, content, source_name, tz=read_file_zone())

        register_read_format(ReadFormat(found.key, parse, header_lines=found.header_lines, title=found.title,
                                        file_suffixes=found.file_suffixes))
