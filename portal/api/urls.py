from django.urls import path

from portal.api import views

app_name = "portal-api"

# Every route here is walked by portal/tests/test_api.py with another customer's ids.
urlpatterns = [
    path("accounts/", views.AccountList.as_view(), name="account-list"),
    path("accounts/<str:account_number>/", views.AccountDetail.as_view(), name="account-detail"),
    path("accounts/<str:account_number>/bills/", views.BillList.as_view(), name="bill-list"),
    path("accounts/<str:account_number>/bills/<int:bill_id>/", views.BillDetail.as_view(), name="bill-detail"),
    path("accounts/<str:account_number>/usage/", views.Usage.as_view(), name="usage"),
    path("accounts/<str:account_number>/greenbutton/", views.GreenButton.as_view(), name="greenbutton"),
]
