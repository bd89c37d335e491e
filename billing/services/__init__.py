"""billing's public write API. Other apps (and billing's own commands) import from here; the
modules behind it are billing's own business.

Rates (billing.services.rates)
    rate_schedule_create, rate_version_add, rate_version_supersede, rate_schedule_import_urdb,
    rate_schedule_ensure (a tariff book loaded again adds nothing twice; RateVersionSpec)
    raise RateError, RateVersionOverlap (a version overlapping another of the schedule).
Cycles and windows (billing.services.cycles)
    bill_cycle_create, bill_cycle_ensure, bill_windows_create (BillWindowSpec)
    raise BillCycleError.
Ledger (billing.services.ledger), append-only
    ledger_post_payment, ledger_post_adjustment, ledger_reverse
    raise django's ValidationError for an amount that is zero or has more than 2 decimals,
    LedgerError for reversing a reversal or an entry already reversed.
Payments (billing.payments.services): the posting service every channel ends in
    payment_post, payment_return (NSF / chargeback: fee, credit rating), payment_reverse
    (a posting error), payment_post_idempotent (the API's Idempotency-Key), payment_settings,
    accounts_allocate (settle accounts whose charges were posted in bulk)
    raise ValidationError, PaymentDuplicate (the channel's external reference was posted),
    PaymentAlreadyReturned, IdempotencyKeyReused.
Remittance (lockbox) files (billing.payments.remittance)
    register_remittance_format (RemittanceFormat; integrations register parsers returning
    ParsedRemittance of RemittanceLine / RemittanceLineError), remittance_import, suspense_assign
    raise RemittanceFileDuplicate (the same file again), RemittanceError, and as payment_post.
Autopay (billing.payments.autopay): pre-authorised debits
    autopay_enrol, autopay_cancel, autopay_debit_file (the NACHA PPD file for a due date),
    autopay_returns_import (the bank's returns file into payment_return)
    raise ValidationError (by field), AutopayError.
Bill runs (billing.services.runs)
    bill_run_start, bill_run_resume, bill_run_approve, bill_run_issue, bill_issue, bills_issue
    raise BillRunError (a run not in the state the step needs).
Cancel / rebill and bills outside a run (billing.services.rebill)
    bill_cancel, bill_rebill, bills_rebill_for_notices, bill_off_cycle, bill_final
    raise RebillError.
Pre-bill rules and their exceptions (billing.services.prebill)
    prebill_rules_seed, bill_exception_release, bill_exception_rerate, bill_exception_meter_check
    raise PreBillError (the exception is already resolved, the bill is not held),
    PreBillConfigError (an unknown rule kind or unusable params).
"""
from billing.services.cycles import BillCycleError, BillWindowSpec, bill_cycle_create, bill_cycle_ensure, bill_windows_create
from billing.services.ledger import LedgerError, ledger_post_adjustment, ledger_post_payment, ledger_reverse
from billing.payments.allocation import accounts_allocate
from billing.payments.services import (
    IdempotencyKeyReused,
    PaymentAlreadyReturned,
    PaymentDuplicate,
    PaymentError,
    payment_post,
    payment_post_idempotent,
    payment_return,
    payment_reverse,
    payment_settings,
)
from billing.payments.remittance import (
    ParsedRemittance,
    RemittanceError,
    RemittanceFileDuplicate,
    RemittanceFormat,
    RemittanceLine,
    RemittanceLineError,
    register_remittance_format,
    remittance_import,
    suspense_assign,
)
from billing.payments.autopay import (
    AutopayError,
    autopay_cancel,
    autopay_debit_file,
    autopay_enrol,
    autopay_returns_import,
)
from billing.services.prebill import (
    PreBillConfigError,
    PreBillError,
    bill_exception_meter_check,
    bill_exception_release,
    bill_exception_rerate,
    prebill_rules_seed,
)
from billing.services.rates import (
    RateError,
    RateVersionOverlap,
    RateVersionSpec,
    rate_schedule_create,
    rate_schedule_ensure,
    rate_schedule_import_urdb,
    rate_version_add,
    rate_version_supersede,
)
from billing.services.rebill import RebillError, bill_cancel, bill_final, bill_off_cycle, bill_rebill, bills_rebill_for_notices
from billing.services.runs import (
    BillRunError,
    bill_issue,
    bill_run_approve,
    bill_run_issue,
    bill_run_resume,
    bill_run_start,
    bills_issue,
)

__all__ = [
    "RateError", "RateVersionOverlap", "RateVersionSpec", "rate_schedule_create", "rate_schedule_ensure",
    "rate_schedule_import_urdb", "rate_version_add", "rate_version_supersede",
    "BillCycleError", "BillWindowSpec", "bill_cycle_create", "bill_cycle_ensure", "bill_windows_create",
    "LedgerError", "ledger_post_adjustment", "ledger_post_payment", "ledger_reverse",
    "BillRunError", "bill_issue", "bill_run_approve", "bill_run_issue", "bill_run_resume", "bill_run_start",
    "bills_issue",
    "RebillError", "bill_cancel", "bill_final", "bill_off_cycle", "bill_rebill", "bills_rebill_for_notices",
    "PreBillConfigError", "PreBillError", "bill_exception_meter_check", "bill_exception_release",
    "bill_exception_rerate", "prebill_rules_seed",
    "IdempotencyKeyReused", "PaymentAlreadyReturned", "PaymentDuplicate", "PaymentError", "accounts_allocate",
    "payment_post", "payment_post_idempotent", "payment_return", "payment_reverse", "payment_settings",
    "ParsedRemittance", "RemittanceError", "RemittanceFileDuplicate", "RemittanceFormat", "RemittanceLine",
    "RemittanceLineError", "register_remittance_format", "remittance_import", "suspense_assign",
    "AutopayError", "autopay_cancel", "autopay_debit_file", "autopay_enrol", "autopay_returns_import",
]
