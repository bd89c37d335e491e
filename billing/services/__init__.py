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
Adjustments with maker-checker (billing.services.adjustments)
    adjustment_submit (posts at once, or a pending AdjustmentRequest for a credit above
    UTILIS_ADJUSTMENT_APPROVAL_LIMIT: AdjustmentOutcome.posted tells which; an API answers 201
    for posted, 202 for pending), adjustment_approve, adjustment_reject
    raise ValidationError (bad amount, no reason), AdjustmentError (not pending, the checker
    is the maker, no billing/administrator role).
Card payments (billing.payments.card)
    register_card_gateway (integrations register adapters: CardGateway returning CardToken,
    GatewayCharge, GatewayEvent with GatewayRefund / GatewayDispute), card_gateway,
    card_payment_take, card_charge_update, card_webhook_receive (charges, refunds, chargebacks),
    card_charges_poll (pending charges whose webhook never came; PollResult)
    raise CardRejected, GatewayUnavailable, WebhookRejected, and as payment_post.
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
Equal payment plans (billing.budget.services; docs/budget.md)
    budget_quote (the calculator: amount and workings), budget_eligibility, budget_enrol,
    budget_leave, active_plan, deferred_balance, plan_type_save
    raise BudgetError (with every reason), ValidationError (a plan type's fields).
Pre-bill rules and their exceptions (billing.services.prebill)
    prebill_rules_seed, bill_exception_release, bill_exception_rerate, bill_exception_meter_check
    raise PreBillError (the exception is already resolved, the bill is not held),
    PreBillConfigError (an unknown rule kind or unusable params).
"""
from billing.services.adjustments import (
    AdjustmentError,
    AdjustmentOutcome,
    adjustment_approve,
    adjustment_reject,
    adjustment_submit,
)
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
from billing.payments.card_texts import card_decline_reason, card_rejection_text
from billing.payments.card import (
    CardGateway,
    CardRejected,
    CardToken,
    GatewayCharge,
    GatewayDispute,
    GatewayError,
    GatewayEvent,
    GatewayRefund,
    GatewayUnavailable,
    PollResult,
    WebhookRejected,
    card_charge_update,
    card_charges_poll,
    card_gateway,
    card_gateways,
    card_payment_take,
    card_webhook_receive,
    register_card_gateway,
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
from billing.budget.services import (
    BudgetError,
    Quote,
    active_plan,
    budget_eligibility,
    budget_enrol,
    budget_leave,
    budget_quote,
    deferred_balance,
    plan_type_save,
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
    "AdjustmentError", "AdjustmentOutcome", "adjustment_approve", "adjustment_reject", "adjustment_submit",
    "BillRunError", "bill_issue", "bill_run_approve", "bill_run_issue", "bill_run_resume", "bill_run_start",
    "bills_issue",
    "RebillError", "bill_cancel", "bill_final", "bill_off_cycle", "bill_rebill", "bills_rebill_for_notices",
    "PreBillConfigError", "PreBillError", "bill_exception_meter_check", "bill_exception_release",
    "bill_exception_rerate", "prebill_rules_seed",
    "IdempotencyKeyReused", "PaymentAlreadyReturned", "PaymentDuplicate", "PaymentError", "accounts_allocate",
    "payment_post", "payment_post_idempotent", "payment_return", "payment_reverse", "payment_settings",
    "ParsedRemittance", "RemittanceError", "RemittanceFileDuplicate", "RemittanceFormat", "RemittanceLine",
    "card_decline_reason", "card_rejection_text", "CardGateway", "CardRejected", "CardToken", "GatewayCharge", "GatewayError", "GatewayEvent",
    "GatewayUnavailable", "WebhookRejected", "card_charge_update", "card_gateway", "card_gateways",
    "card_payment_take", "card_webhook_receive", "register_card_gateway",
    "GatewayDispute", "GatewayRefund", "PollResult", "card_charges_poll",
    "RemittanceLineError", "register_remittance_format", "remittance_import", "suspense_assign",
    "BudgetError", "Quote", "active_plan", "budget_eligibility", "budget_enrol", "budget_leave", "budget_quote",
    "deferred_balance", "plan_type_save",
]

# Collections and delinquency (billing.collections.services; docs/collections.md): the daily
# run on core.runs and what staff do in the Collections Hub; raise ValidationError, CollectionsError.
from billing.collections.services import (  # noqa: E402
    CollectionsError,
    account_protection_add,
    account_protection_end,
    collection_note_add,
    collections_preset_load,
    collections_run_inline,
    collections_run_resume,
    collections_run_start,
    contact_attempt_record,
    extreme_weather_declare,
    payment_arrangement_create,
    promise_to_pay_create,
)
from billing.collections.protections import protection_check  # noqa: E402

__all__ += [
    "CollectionsError", "account_protection_add", "account_protection_end", "collection_note_add",
    "collections_preset_load", "collections_run_inline", "collections_run_resume", "collections_run_start",
    "contact_attempt_record", "extreme_weather_declare", "payment_arrangement_create", "promise_to_pay_create",
    "protection_check",
    "AutopayError", "autopay_cancel", "autopay_debit_file", "autopay_enrol", "autopay_returns_import",
]

# Notice letters and the agency referral (billing.collections.letters / agency; docs/collections.md),
# the review of held autopay debits (billing.payments.autopay_review; docs/payments.md) and bills
# carried over from a legacy system (billing.services.conversion; the demo loads itself so).
from billing.collections.agency import AgencyError, agency_export_create, agency_refer  # noqa: E402
from billing.collections.letters import LetterError, letter_print_start, letters_request  # noqa: E402
from billing.payments.autopay_review import autopay_held_review, autopay_returns_file_for  # noqa: E402
from billing.services.conversion import bill_legacy_issue, budget_plan_type_ensure  # noqa: E402
from billing.payments.scanline import scan_line  # noqa: E402 - the bill stub's scan line (the demo's lockbox file)

__all__ += [
    "AgencyError", "agency_export_create", "agency_refer", "LetterError", "letter_print_start", "letters_request",
    "autopay_held_review", "autopay_returns_file_for", "bill_legacy_issue", "budget_plan_type_ensure",
    "scan_line",
]

# Deposits (billing.deposits.services; docs/deposits.md): require / waive by rule or by staff,
# instalments on bills, held apart, interest, refund, apply to the final bill, transfer, and
# the daily review's recommendations; raise ValidationError (a field), DepositError.
from billing.deposits.services import (  # noqa: E402
    DepositError,
    deposit_account_review,
    deposit_apply,
    deposit_bill_next,
    deposit_class_save,
    deposit_interest_credit,
    deposit_presets_load,
    deposit_refund,
    deposit_refund_paid,
    deposit_require,
    deposit_review_inline,
    deposit_review_start,
    deposit_sync,
    deposit_transfer,
    deposit_waive,
    recommendation_accept,
    recommendation_dismiss,
)

__all__ += [
    "DepositError", "deposit_account_review", "deposit_apply", "deposit_bill_next", "deposit_class_save",
    "deposit_interest_credit", "deposit_presets_load", "deposit_refund", "deposit_refund_paid", "deposit_require", "deposit_review_inline",
    "deposit_review_start", "deposit_sync", "deposit_transfer", "deposit_waive", "recommendation_accept",
    "recommendation_dismiss",
]
