from django.urls import path

from mdm import views

app_name = "mdm"

urlpatterns = [
    path("", views.meter_search, name="search"),
    path("quarantine/", views.quarantine_list, name="quarantine"),
    path("quarantine/<int:pk>/resubmit/", views.quarantine_resubmit, name="quarantine-resubmit"),
    path("quarantine/<int:pk>/discard/", views.quarantine_discard, name="quarantine-discard"),
    path("imports/", views.import_list, name="imports"),
    path("imports/upload/", views.import_upload, name="import-upload"),
    path("imports/<int:pk>/progress.json", views.import_progress, name="import-progress"),
    path("worklist/", views.worklist, name="worklist"),
    path("worklist/<int:pk>/<str:action>/", views.worklist_action, name="worklist-action"),
    path("vee/", views.vee_run_list, name="vee-runs"),
    path("vee/start/", views.vee_run_start, name="vee-run-start"),
    path("vee/<int:pk>/progress.json", views.vee_run_progress, name="vee-run-progress"),
    path("channels/<int:channel_id>/days/<str:day>/", views.channel_day_history, name="channel-day"),
    path("m/<str:serial>/", views.meter_detail, name="meter"),
]
