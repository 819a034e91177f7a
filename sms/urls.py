from django.urls import path

from sms import views, webhooks

app_name = "sms"

urlpatterns = [
    path("inbound/<slug:backend>/", webhooks.inbound, name="inbound_webhook"),
    path("status/<slug:backend>/", webhooks.status, name="status_webhook"),
    path("outbound/", views.outbound_list, name="outbound_list"),
    path("outbound/export/", views.export, {"slug": "outbound"}, name="outbound_export"),
    path("received/export/", views.export, {"slug": "received"}, name="inbound_export"),
    path("contacts/export/", views.export, {"slug": "contacts"}, name="contact_export"),
    path("consent/export/", views.export, {"slug": "consent"}, name="consent_export"),
    path("outbound/<int:pk>/", views.outbound_detail, name="outbound_detail"),
    path("received/", views.inbound_list, name="inbound_list"),
    path("received/<int:pk>/", views.inbound_detail, name="inbound_detail"),
    path("compose/", views.compose, name="compose"),
    path("contacts/", views.contact_list, name="contact_list"),
    path("contacts/<int:pk>/", views.contact_detail, name="contact"),
    path("contacts/<int:pk>/opt-out/", views.contact_opt_out, name="contact_opt_out"),
    path("contacts/<int:pk>/opt-in/", views.contact_opt_in, name="contact_opt_in"),
]
