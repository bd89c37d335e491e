from django.urls import path

from billing import views
from billing.hub import adjustments, bills, calculator, exceptions, notices, rates, runs
from billing.budget import hub as budget_hub
from billing.payments import card_views
from billing.payments import autopay_views
from billing.payments import hub as payments_hub
from billing.collections import hub as collections_hub
from billing.collections import output_views as collections_output
from billing.deposits import hub as deposits_hub

app_name = "billing"

urlpatterns = [
    # The Billing Hub
    path("", runs.home, name="hub"),
    path("runs/start/", runs.run_start, name="run-start"),
    path("runs/<int:run_id>/", runs.run_detail, name="run"),
    path("runs/<int:run_id>/progress.json", runs.run_progress, name="run-progress"),
    path("runs/<int:run_id>/resume/", runs.run_resume, name="run-resume"),
    path("runs/<int:run_id>/approve/", runs.run_approve, name="run-approve"),
    path("runs/<int:run_id>/issue/", runs.run_issue, name="run-issue"),
    path("exceptions/", exceptions.worklist, name="exceptions"),
    path("exceptions/<int:exception_id>/<str:action>/", exceptions.exception_action, name="exception-action"),
    path("bills/", bills.bill_list, name="bills"),
    path("bills/final/", bills.final_bill, name="final-bill"),
    path("bills/<int:bill_id>/", bills.bill_detail, name="bill"),
    path("bills/<int:bill_id>/ebill/", bills.bill_ebill, name="bill-ebill"),
    path("bills/<int:bill_id>/pdf/", bills.bill_pdf, name="bill-pdf"),
    path("bills/<int:bill_id>/cancel/", bills.bill_cancel, name="bill-cancel"),
    path("bills/<int:bill_id>/rebill/", bills.bill_rebill, name="bill-rebill"),
    path("bills/<int:bill_id>/issue/", bills.bill_issue, name="bill-issue"),
    path("notices/", notices.notice_list, name="notices"),
    path("notices/rebill-all/", notices.notice_rebill_all, name="notices-rebill-all"),
    path("notices/<int:notice_id>/rebill/", notices.notice_rebill, name="notice-rebill"),
    path("notices/<int:notice_id>/dismiss/", notices.notice_dismiss, name="notice-dismiss"),
    path("rates/", rates.rate_list, name="rates"),
    path("rates/new/", rates.rate_create, name="rate-create"),
    path("rates/import/", rates.rate_import, name="rate-import"),
    path("rates/<int:schedule_id>/", rates.rate_detail, name="rate"),
    path("adjustments/", adjustments.adjustment_list, name="adjustments"),
    path("adjustments/<int:request_id>/approve/", adjustments.adjustment_approve, name="adjustment-approve"),
    path("adjustments/<int:request_id>/reject/", adjustments.adjustment_reject, name="adjustment-reject"),
    path("calculator/", calculator.calculator_page, name="calculator"),
    *payments_hub.urlpatterns,  # Payments: remittance files and the suspense worklist
    *collections_output.urlpatterns,  # Collections: notice letters, agency referral (before the hub's account/<what>/)
    *collections_hub.urlpatterns,  # Collections: cases, runs, working an account
    *budget_hub.urlpatterns,  # Equal payment plans: plan types, calculator, enrol, leave
    *deposits_hub.urlpatterns,  # Deposits: required, billed, held, due for refund; the daily review
    *card_views.urlpatterns,  # a card payment taken on the account page
    *autopay_views.urlpatterns,  # Autopay: enrol and cancel from the account page
    # Posted from the account 360 page's bills-and-balance panel
    path("accounts/<str:account_number>/payment/", views.post_payment, name="post-payment"),
    path("accounts/<str:account_number>/adjustment/", views.post_adjustment, name="post-adjustment"),
]
