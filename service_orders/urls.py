from django.urls import path

from service_orders import views

app_name = "service_orders"

urlpatterns = [
    path("", views.field_home, name="field-home"),
    path("orders/<int:order_id>/dispatch/", views.order_dispatch, name="order-dispatch"),
]
