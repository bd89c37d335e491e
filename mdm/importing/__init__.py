"""The read import pipeline (see pipeline.py) and its quarantine."""
from mdm.importing.pipeline import (  # noqa: F401
    CHUNK_RECORDS,
    ImportInputError,
    ImportRunError,
    import_chunk_fail,
    import_chunk_load,
    import_file,
    import_run_create,
    import_run_fail,
    import_run_prepare,
    import_run_resume,
    import_run_submit,
    time_zone_check,
    upload_size_check,
)
from mdm.importing.payload import FORMAT_VERSION, PayloadFormatError, payload_pack, payload_unpack  # noqa: F401
from mdm.importing.quarantine import QuarantineError, quarantine_record_discard, quarantine_record_resubmit  # noqa: F401
from mdm.importing.screen import ReadLimits, read_limits, screen_result  # noqa: F401
from mdm.importing.registry import (  # noqa: F401
    FORMATS,
    ReadFormat,
    UnknownFormatError,
    read_file_zone,
    read_format,
    register_read_format,
)
