from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from texting import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("sms/", include("sms.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("replies/", include("replies.urls")),
    path("modems/", include("modems.urls")),
    path("l/", include("links.urls")),  # public: per-recipient links opened by the recipients
]
