from django.urls import path

from . import views

urlpatterns = [
    path("attachments/<int:pk>/", views.AttachmentView.as_view(), name="attachment"),
    path(
        "attachments/<int:pk>/thumbnail/", views.AttachmentView.as_view(thumbnail=True),
        name="attachment_thumbnail",
    ),
    path("batches/<int:pk>/signed-roster/", views.SignedRosterUploadView.as_view(), name="signed_roster_upload"),
]
