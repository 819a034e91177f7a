"""The dashboard is for staff: a logged-in user who is not staff is refused (403)."""

from django.core.exceptions import PermissionDenied


class StaffRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None  # public: login page, webhooks, health check
        user = request.user
        if user.is_authenticated and not user.is_staff:
            raise PermissionDenied("Texting is for staff accounts")
        return None
