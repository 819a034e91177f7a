"""Filters of the message lists (django-filter)."""

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Q

from sms.models import InboundMessage, OutboundMessage, State


def _backend_choices():
    return [(slug, slug) for slug in settings.SMS_BACKENDS]


class DateRangeWidget(django_filters.widgets.DateRangeWidget):
    """Two date pickers side by side in one input group ("from" to "to").

    The template is in sms/templates/: widgets render through the form renderer, which
    reads app template folders, not the project's templates/ folder.
    """

    template_name = "sms/widgets/date_range.html"


class _DateRange(django_filters.DateFromToRangeFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", DateRangeWidget(attrs={"type": "date", "class": "form-control"}))
        super().__init__(*args, **kwargs)


class OutboundFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(
        choices=State.choices, widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
    )
    backend = django_filters.ChoiceFilter(choices=_backend_choices, empty_label="Any")
    tag = django_filters.CharFilter(lookup_expr="exact")
    created = _DateRange(field_name="created_at", label="Created between")
    number = django_filters.CharFilter(field_name="recipient", lookup_expr="icontains", label="Number contains")
    q = django_filters.CharFilter(field_name="content", lookup_expr="icontains", label="Text contains")

    class Meta:
        model = OutboundMessage
        fields = ["state", "backend", "tag", "created", "number", "q"]


class InboundFilter(django_filters.FilterSet):
    backend = django_filters.ChoiceFilter(choices=_backend_choices, empty_label="Any")
    received = _DateRange(field_name="received_at", label="Received between")
    number = django_filters.CharFilter(method="filter_number", label="Number contains")
    q = django_filters.CharFilter(field_name="content", lookup_expr="icontains", label="Text contains")

    class Meta:
        model = InboundMessage
        fields = ["backend", "received", "number", "q"]

    def filter_number(self, queryset, name, value):
        return queryset.filter(Q(sender__icontains=value) | Q(recipient__icontains=value))
