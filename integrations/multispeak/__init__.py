"""MultiSpeak 4.1 (Version_4.1_Release namespace): meter reading and interval data payloads.
`readings` parses them into mdm records; element names follow the 4.1.6 WSDLs."""
