from django.urls import path

from stats import views

app_name = "stats"

urlpatterns = [
    path("", views.section, name="index"),
    path("<slug:section>/", views.section, name="section"),
    path("<slug:section>/<slug:table>.csv", views.table_csv, name="csv"),
]
