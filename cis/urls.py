from django.urls import path

from cis import views

app_name = "cis"

urlpatterns = [
    path("", views.search, name="search"),
    path("search/results", views.search_results, name="search-results"),
    path("accounts/<str:account_number>/", views.account_detail, name="account"),
    path("accounts/<str:account_number>/notes/", views.note_add, name="note-add"),
    path("accounts/<str:account_number>/contacts/", views.contact_log, name="contact-log"),
    path("accounts/<str:account_number>/complaints/", views.complaint_open, name="complaint-open"),
    path("accounts/<str:account_number>/complaints/<int:complaint_id>/", views.complaint_update, name="complaint-update"),
    path("accounts/<str:account_number>/move-out/", views.move_out, name="move-out"),
    path("moves/new/", views.move_in, name="move-in"),
    path("moves/service-points", views.move_sp_candidates, name="move-sp-candidates"),
    path("moves/pending/", views.pending_moves, name="pending-moves"),
    path("moves/requests/<int:pk>/", views.move_request, name="move-request"),
    path("moves/<int:pk>/", views.move_detail, name="move-detail"),
    path("moves/<int:pk>/cancel/", views.move_cancel, name="move-cancel"),
]
