from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from portal import apply_views, insights_views, pay_views, plans_views, self_service, views
from portal.language import language_switch
from portal.forms import CustomerPasswordResetForm

app_name = "portal"

# Every URL here is walked by portal/tests/test_scoping.py with another customer's ids.
urlpatterns = [
    path("", views.home, name="home"),
    path("language/", language_switch, name="language"),
    path("login/", views.PortalLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page=reverse_lazy("portal:login")), name="logout"),
    path("register/", views.register, name="register"),
    path("register/question/", views.register_proof, name="register-proof"),
    path("link/<str:token>/", views.link_confirm, name="link-confirm"),
    path("password-reset/", auth_views.PasswordResetView.as_view(
        form_class=CustomerPasswordResetForm,
        template_name="portal/password_reset_form.html", email_template_name="portal/email/password_reset.txt",
        subject_template_name="portal/email/password_reset_subject.txt",
        extra_email_context={"utility_name": settings.UTILIS_UTILITY_NAME},
        success_url=reverse_lazy("portal:password-reset-done")), name="password-reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="portal/password_reset_done.html"), name="password-reset-done"),
    path("password-reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="portal/password_reset_confirm.html",
        success_url=reverse_lazy("portal:password-reset-complete")), name="password-reset-confirm"),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name="portal/password_reset_complete.html"), name="password-reset-complete"),
    path("a/<str:account_number>/", views.account, name="account"),
    path("a/<str:account_number>/bills/", views.bills, name="bills"),
    path("a/<str:account_number>/bills/<int:bill_id>/", views.bill, name="bill"),
    path("a/<str:account_number>/bills/<int:bill_id>/pdf/", views.bill_pdf, name="bill-pdf"),
    path("a/<str:account_number>/usage/", views.usage, name="usage"),
    path("a/<str:account_number>/usage.csv", views.usage_csv_download, name="usage-csv"),
    path("a/<str:account_number>/greenbutton.xml", views.greenbutton_download, name="greenbutton"),
    path("a/<str:account_number>/pay/", pay_views.pay, name="pay"),
    path("a/<str:account_number>/pay/status/", pay_views.pay_status, name="pay-status"),
    path("a/<str:account_number>/alerts/", self_service.alerts, name="alerts"),
    path("a/<str:account_number>/moves/", self_service.moves, name="moves"),
    path("a/<str:account_number>/moves/<int:move_request_id>/withdraw/", self_service.move_withdraw,
         name="move-withdraw"),
    path("a/<str:account_number>/contact/", self_service.contact, name="contact"),
    path("a/<str:account_number>/people/", self_service.people, name="people"),
    path("a/<str:account_number>/people/<int:link_id>/remove/", self_service.person_remove, name="person-remove"),
    path("invite/<str:token>/", self_service.invite_accept, name="invite-accept"),
    path("two-factor/", self_service.two_factor_setup, name="two-factor-setup"),
    path("two-factor/verify/", self_service.two_factor_verify, name="two-factor-verify"),
    path("tokens/", self_service.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", self_service.token_revoke, name="token-revoke"),
    path("a/<str:account_number>/autopay/", plans_views.autopay, name="autopay"),
    path("a/<str:account_number>/autopay/cancel/", plans_views.autopay_stop, name="autopay-cancel"),
    path("a/<str:account_number>/budget/", plans_views.budget, name="budget"),
    path("a/<str:account_number>/budget/leave/", plans_views.budget_stop, name="budget-leave"),
    path("a/<str:account_number>/arrangement/", plans_views.arrangement, name="arrangement"),
    path("a/<str:account_number>/paperless/", plans_views.paperless, name="paperless"),
    path("a/<str:account_number>/usage/compare/", insights_views.usage_compare, name="usage-compare"),
    path("a/<str:account_number>/rates/", insights_views.rate_compare, name="rate-compare"),
    path("apply/", apply_views.apply, name="apply"),
]
