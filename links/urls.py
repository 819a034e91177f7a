from django.urls import path

from links import views

app_name = "links"

urlpatterns = [
    # <path:…> so that anything under /l/ gets the links' own friendly 404, never the site's.
    path("<path:token>", views.follow, name="follow"),
]
