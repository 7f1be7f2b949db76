from django.urls import path

from . import views as batches

urlpatterns = [
    # Subsidies
    path("batches/", batches.BatchListView.as_view(), name="batch_list"),
    path("batches/create/", batches.BatchCreateView.as_view(), name="batch_create"),
    path("batches/summary/", batches.SummaryExportView.as_view(), name="batch_summary_export"),
    path("batches/<int:pk>/", batches.BatchDetailView.as_view(), name="batch_detail"),
    path("batches/<int:pk>/move/", batches.BatchMoveView.as_view(), name="batch_move"),
    path("batches/<int:pk>/confirm/", batches.SchoolConfirmView.as_view(), name="batch_confirm"),
    path("batches/<int:pk>/lines/add/", batches.LineAddView.as_view(), name="line_add"),
    path("batches/<int:pk>/roster/", batches.RosterExportView.as_view(), name="batch_roster_export"),
    path("batches/<int:pk>/roster/print/", batches.RosterPrintView.as_view(), name="batch_roster_print"),
    path("lines/<int:pk>/", batches.LineUpdateView.as_view(), name="line_update"),
    path("precision/", batches.PrecisionView.as_view(), name="precision"),
    path("precision/export/", batches.PrecisionExportView.as_view(), name="precision_export"),
    path("precision/resolve/", batches.FindingResolveView.as_view(), name="finding_resolve"),
    path("precision/bulk/", batches.FindingsBulkView.as_view(), name="findings_bulk"),
]
