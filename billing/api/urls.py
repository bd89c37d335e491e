from django.urls import include, path

from billing.api import accounts, bills, views

urlpatterns = [
    path("calculator/", views.BillCalculator.as_view(), name="billing-calculator"),
    path("bills/", bills.BillList.as_view(), name="billing-bill-list"),
    path("bills/<int:bill_id>/", bills.BillDetail.as_view(), name="billing-bill-detail"),
    path("bills/<int:bill_id>/pdf/", bills.BillPdf.as_view(), name="billing-bill-pdf"),
    path("accounts/<str:account_number>/ledger/", accounts.AccountLedger.as_view(), name="billing-account-ledger"),
    path("accounts/<str:account_number>/balance/", accounts.AccountBalance.as_view(), name="billing-account-balance"),
    path("accounts/<str:account_number>/aging/", accounts.AccountAging.as_view(), name="billing-account-aging"),
    path("accounts/<str:account_number>/billed-through/", accounts.AccountBilledThrough.as_view(),
         name="billing-account-billed-through"),
    path("payments/", include("billing.payments.api")),
]
