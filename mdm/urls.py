app_name = "mdm"

urlpatterns: list = []
