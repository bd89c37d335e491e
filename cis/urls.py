from django.urls import path

from cis import views

app_name = "cis"

urlpatterns = [
    path("", views.search, name="search"),
]
