"""Routes of the customer & premise REST API, mounted under /api/ by config/urls.py."""
from django.urls import path
from rest_framework.routers import DefaultRouter

from cis.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("premises", views.PremiseViewSet, basename="premise")
router.register("service-points", views.ServicePointViewSet, basename="service-point")
router.register("agreements", views.AgreementViewSet, basename="agreement")
router.register("moves", views.MoveViewSet, basename="move")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("notes", views.NoteViewSet, basename="note")
router.register("complaints", views.ComplaintViewSet, basename="complaint")

urlpatterns = [
    path("search/", views.SearchView.as_view(), name="search"),
    *router.urls,
]
