"""Bill runs: the lifecycle services (start, chunk, resume, approve, issue) and the shared
bill drafting that off-cycle, final and rebills use too. See docs/billing.md."""
from billing.services.runs.lifecycle import (  # noqa: F401
    BillRunError,
    bill_issue,
    bill_run_approve,
    bill_run_chunk_process,
    bill_run_issue,
    bill_run_pending_chunks,
    bill_run_progress,
    bill_run_resume,
    bill_run_start,
    bills_issue,
)
