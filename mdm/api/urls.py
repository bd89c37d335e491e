from django.urls import path

from mdm.api import meters, views

app_name = "mdm-api"

urlpatterns = [
    path("imports/", views.ImportListCreate.as_view(), name="import-list"),
    path("imports/<int:pk>/", views.ImportDetail.as_view(), name="import-detail"),
    path("imports/<int:pk>/quarantine/", views.ImportQuarantine.as_view(), name="import-quarantine"),
    path("quarantine/<int:pk>/resubmit/", views.QuarantineResubmit.as_view(), name="quarantine-resubmit"),
    path("quarantine/<int:pk>/discard/", views.QuarantineDiscard.as_view(), name="quarantine-discard"),
    path("determinants/", views.Determinants.as_view(), name="determinants"),
    path("meters/", meters.MeterListCreate.as_view(), name="meter-list"),
    path("meters/<str:serial>/", meters.MeterDetail.as_view(), name="meter-detail"),
    path("meters/<str:serial>/install/", meters.MeterInstall.as_view(), name="meter-install"),
    path("meters/<str:serial>/remove/", meters.MeterRemove.as_view(), name="meter-remove"),
    path("meters/<str:serial>/exchange/", meters.MeterExchange.as_view(), name="meter-exchange"),
    path("meters/<str:serial>/intervals/", views.MeterIntervals.as_view(), name="meter-intervals"),
]
