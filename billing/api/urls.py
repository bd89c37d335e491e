from django.urls import path

from billing.api import views

urlpatterns = [
    path("calculator/", views.BillCalculator.as_view(), name="billing-calculator"),
]
