from django.urls import path

from . import views as supervision

urlpatterns = [
    # Grid supervision and projects
    path("grids/", supervision.GridListView.as_view(), name="grid_list"),
    path("grids/create/", supervision.GridCreateView.as_view(), name="grid_create"),
    path("grids/<int:pk>/", supervision.GridDetailView.as_view(), name="grid_detail"),
    path("grids/<int:pk>/update/", supervision.GridUpdateView.as_view(), name="grid_update"),
    path("inspections/", supervision.InspectionListView.as_view(), name="inspection_list"),
    path(
        "inspections/create/",
        supervision.InspectionCreateView.as_view(),
        name="inspection_create",
    ),
    path(
        "inspections/<int:pk>/",
        supervision.InspectionDetailView.as_view(),
        name="inspection_detail",
    ),
    path(
        "rectifications/",
        supervision.RectificationListView.as_view(),
        name="rectification_list",
    ),
    path(
        "rectifications/<int:pk>/",
        supervision.RectificationUpdateView.as_view(),
        name="rectification_update",
    ),
    path("projects/", supervision.ProjectListView.as_view(), name="project_list"),
    path("projects/create/", supervision.ProjectCreateView.as_view(), name="project_create"),
    path("projects/export/", supervision.ProjectExportView.as_view(), name="project_export"),
    path(
        "projects/<int:pk>/update/",
        supervision.ProjectUpdateView.as_view(),
        name="project_update",
    ),
]
