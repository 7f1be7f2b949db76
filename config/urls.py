from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from aid.dashboard.views import DashboardView
from config.health import healthz

admin.site.site_header = _("Student Aid Casework administration")
admin.site.site_title = _("Student Aid Casework")

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", include("accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("aid/", include("aid.urls")),
    path("downloads/", include("jobs.urls")),
    path("notifications/", include("notices.urls")),
    path("", DashboardView.as_view(), name="home"),
    path("", include("students.urls")),
]

handler403 = "students.views.errors.permission_denied"
handler404 = "students.views.errors.page_not_found"
handler500 = "students.views.errors.server_error"
