"""Every outside integration, in one place. Each is a folder under integrations/ with the
same shape; adding one is copying a sibling folder and adding a line here.

Read-file formats name their parser as a dotted path so that looking one up does not
import every format (lxml for MultiSpeak is only loaded when a MultiSpeak file arrives).
`register_read_formats` (called from IntegrationsConfig.ready()) puts each into the import
pipeline's registry, mdm.importing.registry."""
from __future__ import annotations

import re
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
    byte-order mark is dropped). Raises UnknownReadFormat.

    A line holding bytes that are not UTF-8, or a NUL or other control character, is one
    RecordError (field `encoding`, the raw line with the bad bytes escaped as \\xNN) and is
    left out; the rest of the file is parsed as usual, so it lands in the quarantine like any
    bad record and the good lines load."""
    found = integration(key)
    parser = read_parser(key)
    if found.read_content == "bytes":
        return parser(content, source_name, **options)
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    errors: list[RecordError] = []
    try:
        text = content.decode("utf-8")
        clean = not _CONTROL.search(text)
    except UnicodeDecodeError:
        clean = False
    if not clean:
        text, errors = _clean_lines(content)
    result = parser(text, source_name, **options)
    if errors:
        result.errors[:0] = errors
    return result


# control characters no read file has (tab, CR and LF are fine)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _escaped(line: bytes) -> str:
    text = line.decode("utf-8", errors="backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _clean_lines(content: bytes) -> tuple[str, list[RecordError]]:
    """The text with each bad line blanked (line numbers stay), and one error per bad line."""
    lines = content.split(b"\n")
    kept: list[str] = []
    errors: list[RecordError] = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(RecordError(number, "encoding",
                                      f"not UTF-8 text: byte 0x{line[exc.start]:02x} at column {exc.start + 1}",
                                      _escaped(line).rstrip("\r")))
            kept.append("")
            continue
        bad = _CONTROL.search(decoded)
        if bad:
            errors.append(RecordError(number, "encoding",
                                      f"control character 0x{ord(bad.group()):02x} at column {bad.start() + 1}",
                                      _escaped(line).rstrip("\r")))
            kept.append("")
            continue
        kept.append(decoded)
    return "\n".join(kept), errors


def register_read_formats() -> None:
    """Register every read format with mdm's import pipeline. The pipeline passes the file's
    zone for offset-less timestamps (chosen per file, else mdm.importing.read_file_zone) and
    its plausibility limits (mdm.importing.screen.ReadLimits), which the CSV parser applies per
    row so that a bad row is named by its own line."""
    for found in INTEGRATIONS:
        if not found.read_parser:
            continue

        def parse(content: bytes, source_name: str, tz=None, limits=None, _key: str = found.key) -> ParseResult:
            options: dict = {"tz": tz or read_file_zone()}
            if limits is not None and _key == "csv":
                options["limits"] = limits
            return parse_read_file(_key, content, source_name, **options)

        register_read_format(ReadFormat(found.key, parse, header_lines=found.header_lines, title=found.title,
                                        file_suffixes=found.file_suffixes, takes_options=True))
