from django.urls import path

from modems import views

app_name = "modems"

urlpatterns = [
    path("", views.index, name="index"),
    path("sims/new/", views.sim_create, name="sim_create"),
    path("sims/<int:pk>/", views.sim_detail, name="sim_detail"),
    path("sims/<int:pk>/edit/", views.sim_edit, name="sim_edit"),
    path("sims/<int:pk>/check/", views.sim_check, name="sim_check"),
    path("sims/<int:pk>/balance/", views.sim_balance, name="sim_balance"),
    path("sims/<int:pk>/test-text/", views.sim_test_text, name="sim_test_text"),
    path("networks/", views.network_list, name="network_list"),
    path("networks/new/", views.network_create, name="network_create"),
    path("networks/<int:pk>/edit/", views.network_edit, name="network_edit"),
]
