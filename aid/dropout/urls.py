from django.urls import path

from . import views as cases

urlpatterns = [
    # Dropout control
    path("cases/", cases.CaseListView.as_view(), name="case_list"),
    path("cases/export/", cases.CaseExportView.as_view(), name="case_export"),
    path("cases/<int:pk>/", cases.CaseDetailView.as_view(), name="case_detail"),
    path("cases/<int:pk>/close/", cases.CaseCloseView.as_view(), name="case_close"),
    path("cases/<int:pk>/reopen/", cases.CaseReopenView.as_view(), name="case_reopen"),
    path("cases/<int:pk>/attempts/", cases.CaseAttemptView.as_view(), name="case_attempt"),
    path("cases/<int:pk>/responsibles/", cases.CaseResponsibleView.as_view(), name="case_responsible"),
    path("students/<int:student_pk>/cases/create/", cases.CaseCreateView.as_view(), name="case_create"),
    path("ledgers/", cases.LedgerView.as_view(), name="ledger"),
    path("ledgers/export/", cases.LedgerExportView.as_view(), name="ledger_export"),
    path("ledgers/print/", cases.LedgerPrintView.as_view(), name="ledger_print"),
]
