from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("password/", views.OwnPasswordView.as_view(), name="password_change"),
    path("two-factor/", views.TwoFactorVerifyView.as_view(), name="two_factor_verify"),
    path("two-factor/enrol/", views.TwoFactorEnrolView.as_view(), name="two_factor_enrol"),
    path("two-factor/recovery-codes/", views.RecoveryCodesView.as_view(), name="recovery_codes"),
    path("logins/", views.LoginLogView.as_view(), name="login_log"),
]
