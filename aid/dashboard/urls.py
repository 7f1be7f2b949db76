from django.urls import path

from . import views as dashboard

urlpatterns = [
    path("summary/export/", dashboard.SummaryExportView.as_view(), name="summary_export"),
]
