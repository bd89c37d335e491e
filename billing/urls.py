from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("accounts/<str:account_number>/payment/", views.post_payment, name="post-payment"),
    path("accounts/<str:account_number>/adjustment/", views.post_adjustment, name="post-adjustment"),
]
