from django.urls import path

from replies import views

app_name = "replies"

urlpatterns = [
    path("", views.index, name="index"),
]
