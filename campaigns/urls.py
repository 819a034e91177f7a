from django.urls import path, re_path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("upload/", views.upload, name="upload"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/recipients/export/", views.export_rows, {"slug": "campaign-recipients"}, name="recipients_export"),
    path("<int:pk>/rejected/export/", views.export_rows, {"slug": "campaign-rejected"}, name="rejected_export"),
    re_path(r"^(?P<pk>[0-9]+)/(?P<action>pause|resume|abort)/$", views.control, name="control"),
    path("pull/", views.pull_now, name="pull_now"),
    path("pulls/<int:pk>/", views.pull_detail, name="pull_detail"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/new/", views.template_edit, name="template_new"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/preview/", views.template_preview, name="template_preview"),
]
