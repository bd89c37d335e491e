"""Bill runs: the lifecycle services (start, chunk, resume, approve, issue) and the shared
bill drafting that off-cycle, final and rebills use too. See docs/billing.md."""
from billing.services.runs.lifecycle import (  # noqa: F401
    BillRunConflict,
    BillRunError,
    BillRunWindowOpen,
    bill_issue,
    bill_run_approve,
    bill_run_approve_begin,
    bill_run_approve_chunk,
    bill_run_issue_begin,
    bill_run_step_resume,
    bill_run_can_approve,
    bill_run_failed_chunks,
    bill_run_start_preview,
    bill_run_totals,
    window_is_open,
    window_opens,
    bill_run_chunk_process,
    bill_run_issue,
    bill_run_issue_chunk,
    bill_run_pending_chunks,
    bill_run_progress,
    bill_run_resume,
    bill_run_start,
    bills_issue,
)
from billing.services.runs.drafting import BillOverlapError  # noqa: F401,E402
