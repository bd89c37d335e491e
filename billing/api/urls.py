from django.urls import include, path

from billing.api import views

urlpatterns = [
    path("calculator/", views.BillCalculator.as_view(), name="billing-calculator"),
    path("payments/", include("billing.payments.api")),
]
