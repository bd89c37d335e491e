"""The MultiSpeak 4.1.6 XML schema, taken from the inline types of the published WSDLs, to
check that our recorded sample payloads are what a conforming partner would send."""
from __future__ import annotations

import functools
from pathlib import Path

import xmlschema
from lxml import etree

STANDARDS = Path("/work/shared/standards/multispeak-4.1.6")
XSD = "http://www.w3.org/2001/XMLSchema"
SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
# xmlschema ships its own xlink schema; loading the WSDL's copy again is a duplicate
BUILTIN_NAMESPACES = {"http://www.w3.org/1999/xlink"}


@functools.cache
def wsdl_schema(wsdl_name: str) -> xmlschema.XMLSchema:
    root = etree.parse(str(STANDARDS / wsdl_name)).getroot()
    sources = [
        etree.tostring(schema, encoding="unicode")
        for schema in root.iter(f"{{{XSD}}}schema")
        if schema.get("targetNamespace") not in BUILTIN_NAMESPACES
    ]
    return xmlschema.XMLSchema(sources)


def payload_elements(xml: bytes) -> list[etree._Element]:
    """The MultiSpeak elements of a document: the header and body children of a SOAP
    envelope, or the root of a bare payload."""
    root = etree.fromstring(xml)
    if root.tag != f"{SOAP}Envelope":
        return [root]
    return [child for part in root for child in part if isinstance(child.tag, str)]
