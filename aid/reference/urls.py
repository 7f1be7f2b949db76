from django.urls import path

from . import views as reference

urlpatterns = [
    # Reference lists
    path("reference/programs/", reference.ProgramListView.as_view(), name="program_list"),
    path("reference/programs/create/", reference.ProgramCreateView.as_view(), name="program_create"),
    path("reference/programs/<int:pk>/update/", reference.ProgramUpdateView.as_view(), name="program_update"),
    path("reference/items/", reference.DeliveryItemListView.as_view(), name="delivery_item_list"),
    path("reference/items/create/", reference.DeliveryItemCreateView.as_view(), name="delivery_item_create"),
    path("reference/items/<int:pk>/update/", reference.DeliveryItemUpdateView.as_view(), name="delivery_item_update"),
    path("reference/checklist/", reference.ChecklistItemListView.as_view(), name="checklist_item_list"),
    path("reference/checklist/create/", reference.ChecklistItemCreateView.as_view(), name="checklist_item_create"),
    path(
        "reference/checklist/<int:pk>/update/", reference.ChecklistItemUpdateView.as_view(),
        name="checklist_item_update",
    ),
]
