"""The dashboard is for staff: a logged-in user who is not staff is refused (403)."""

from django.contrib.auth.views import LogoutView
from django.core.exceptions import PermissionDenied


class StaffRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None  # public: login page, webhooks, health check
        if getattr(view_func, "view_class", None) is LogoutView:
            return None  # anyone logged in may log out, staff or not
        user = request.user
        if user.is_authenticated and not user.is_staff:
            raise PermissionDenied("Texting is for staff accounts")
        return None
