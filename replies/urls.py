from django.urls import path

from replies import views
from sms import views as sms_views

app_name = "replies"

urlpatterns = [
    path("", views.index, name="index"),
    path("export/", sms_views.export, {"slug": "replies"}, name="export"),
    path("bulk/", views.bulk_set_type, name="bulk"),
    path("<int:pk>/type/", views.set_type, name="set_type"),
    path("<int:pk>/undo-end/", views.undo_opt_out, name="undo_end"),
    path("consent/<int:pk>/not-an-opt-out/", views.not_an_opt_out, name="not_opt_out"),
    path("contacts/<int:pk>/", views.conversation, name="conversation"),
    path("contacts/<int:pk>/send/", views.conversation_send, name="conversation_send"),
    path("types/", views.type_list, name="types"),
    path("types/new/", views.type_form, name="type_new"),
    path("types/<int:pk>/", views.type_form, name="type_edit"),
    path("types/<int:pk>/delete/", views.type_delete, name="type_delete"),
    path("consent/", views.record_consent, name="consent"),
    path("classifier/", views.classifier_page, name="classifier"),
    path("classifier/retrain/", views.retrain, name="retrain"),
]
