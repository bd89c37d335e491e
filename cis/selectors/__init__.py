"""cis's public reads. Other apps and cis's own views import from here, never the modules.

Accounts (search, 360 view)      accounts.py
Agreements (what bills cover)    agreements.py
Service points                   service_points.py
Audit trail                      audit.py
Customers' own requests          requests.py (move requests, portal contacts/complaints)

Selectors raise the model's DoesNotExist where they `get` one row (account_get,
bill_account_of); every other selector returns an empty result for unknown ids.
"""
from cis.selectors.accounts import (
    BUILT_IN_SEARCH_KINDS,
    SEARCH_MAX_HITS,
    SEARCH_MAX_PAGE,
    SearchHit,
    SearchPage,
    account_agreements,
    account_get,
    account_ids_by_number,
    account_ids_opened_between,
    account_premises,
    accounts_by_ids,
    accounts_by_number_prefix,
    customer_account_openings,
    accounts_with_open_followups,
    active_agreement_on,
    classify_query,
    pending_moves,
    search_accounts,
    search_accounts_page,
    search_kinds,
    search_kinds_hidden_from,
    search_max_page,
    service_addresses,
    service_points_available,
)
from cis.selectors.agreements import (
    AgreementRow,
    account_agreement_periods,
    account_numbers,
    agreements_by_ids,
    agreements_for_bill_accounts,
    agreements_in_service_between,
    bill_account_ids_in_cycle,
    bill_account_of,
    rate_codes_in_use,
)
from cis.selectors.audit import AuditEntry, account_audit_trail
from cis.selectors.requests import (
    complaints_made_by,
    contacts_made_by,
    move_request_get,
    move_requests_for_account,
    move_requests_open,
)
from cis.selectors.service_points import (
    ServicePointForMetering,
    account_service_point_ids,
    premise_open_for_applications,
    premises_open_for_applications,
    service_point_agreement_periods,
    service_point_ids_for_number,
    service_point_labels,
    service_point_rate_classes,
    service_points_for_metering,
    service_points_for_metering_by_number,
)

__all__ = [
    "BUILT_IN_SEARCH_KINDS", "SEARCH_MAX_HITS", "SEARCH_MAX_PAGE", "SearchHit", "SearchPage", "account_agreements",
    "account_get", "account_ids_by_number", "account_ids_opened_between", "account_premises", "accounts_by_ids",
    "accounts_by_number_prefix", "customer_account_openings", "accounts_with_open_followups", "active_agreement_on",
    "classify_query",
    "pending_moves", "search_accounts", "search_accounts_page", "search_kinds", "search_kinds_hidden_from",
    "search_max_page", "service_addresses", "service_points_available",
    "AgreementRow", "account_agreement_periods", "account_numbers", "agreements_by_ids", "agreements_for_bill_accounts",
    "agreements_in_service_between", "bill_account_ids_in_cycle", "bill_account_of", "rate_codes_in_use",
    "AuditEntry", "account_audit_trail",
    "complaints_made_by", "contacts_made_by", "move_request_get", "move_requests_for_account", "move_requests_open",
    "ServicePointForMetering", "account_service_point_ids", "premise_open_for_applications",
    "premises_open_for_applications", "service_point_agreement_periods",
    "service_point_ids_for_number", "service_point_labels", "service_point_rate_classes",
    "service_points_for_metering", "service_points_for_metering_by_number",
]
