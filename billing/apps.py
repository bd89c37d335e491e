from django.apps import AppConfig

from core import codes
from core.runs.registry import RunKind, register_run_kind


def _enqueue_chunks(run_id: int, numbers: list[int], queue: str | None = None) -> None:
    from billing.tasks import bill_run_chunk  # the task module imports the models

    for number in numbers:
        kwargs = {"bill_run_id": run_id, "chunk_number": number}
        if queue:
            bill_run_chunk.apply_async(kwargs=kwargs, queue=queue)
        else:
            bill_run_chunk.apply_async(kwargs=kwargs)


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing import panels, selectors
        from billing.models import BillRunChunk
        from billing.budget import panels as budget_panels
        from billing.payments import panels as payment_panels

        panels.register()
        payment_panels.register()  # the payments panel, their admin pages and the ledger hook
        budget_panels.register()  # equal payment plans: bill-issue hook, panel, admin
        from billing import pdf
        from billing.payments import autopay, autopay_panels, autopay_tasks, card_tasks, remittance_uploads  # noqa: F401 - the tasks register

        autopay.register()  # bank details are personal data (core.privacy)
        autopay_panels.register()  # the Autopay panel on the account page
        pdf.register_bill_note(autopay.bill_autopay_note)  # "Paid by pre-authorised debit on ..."
        # cis stores rate and bill cycle codes but sits below billing: it validates them
        # through core.codes (agreements, move-ins, accounts; API and the move-in wizard).
        codes.register_code_validator(codes.RATE_CODE, selectors.rate_code_exists, label="rate code",
                                      choices=selectors.rate_codes_active)
        codes.register_code_validator(codes.BILL_CYCLE_CODE, selectors.bill_cycle_exists, label="bill cycle",
                                      choices=selectors.bill_cycle_codes)
        # The core.runs sweeper resumes bill runs whose worker died.
        register_run_kind(RunKind("billing.bill_run", BillRunChunk, _enqueue_chunks))
        from billing.collections import panels as collection_panels

        collection_panels.register()  # collections panel, admin, run kind, core.protections checker
        from billing.deposits import panels as deposit_panels

        deposit_panels.register()  # deposits: bill-issue hook, bill note, panel, admin, run kind
