from django.urls import path

from modems import views

app_name = "modems"

urlpatterns = [
    path("", views.index, name="index"),
]
