"""Filters of the message lists (django-filter)."""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from sms.models import ConsentEvent, Contact, InboundMessage, OutboundMessage, State
from sms.phone import InvalidNumber, normalise
from sms.search import fold


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


def _local_day(field: str, day) -> Q:
    """Texts of one local day, as a range on the indexed column (not ``__date``, which is not)."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return Q(**{f"{field}__gte": start, f"{field}__lt": end})


def _filter_sim(queryset, name, value):
    """A SIM's id, or "none" for texts that went through the default backend (no SIM)."""
    if value == "none":
        return queryset.filter(sim__isnull=True)
    return queryset.filter(sim_id=value) if value.isdigit() else queryset.none()


class OutboundFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(
        choices=State.choices, widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"})
    )
    backend = django_filters.ChoiceFilter(choices=_backend_choices, empty_label="Any")
    tag = django_filters.CharFilter(lookup_expr="exact")
    created = _DateRange(field_name="created_at", label="Created between")
    number = django_filters.CharFilter(field_name="recipient", lookup_expr="icontains", label="Number contains")
    q = django_filters.CharFilter(field_name="content", lookup_expr="icontains", label="Text contains")
    # The Stats page's per-SIM-per-day cells link here (?sim=<id>|none&day=YYYY-MM-DD).
    sim = django_filters.CharFilter(method=lambda qs, name, value: _filter_sim(qs, name, value), label="SIM id")
    day = django_filters.DateFilter(
        method=lambda qs, name, value: qs.filter(_local_day("created_at", value)),
        label="Queued on",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )

    class Meta:
        model = OutboundMessage
        fields = ["state", "backend", "tag", "created", "number", "q", "sim", "day"]


class InboundFilter(django_filters.FilterSet):
    backend = django_filters.ChoiceFilter(choices=_backend_choices, empty_label="Any")
    received = _DateRange(field_name="received_at", label="Received between")
    number = django_filters.CharFilter(method="filter_number", label="Number contains")
    q = django_filters.CharFilter(field_name="content", lookup_expr="icontains", label="Text contains")
    sim = django_filters.CharFilter(method=lambda qs, name, value: _filter_sim(qs, name, value), label="SIM id")
    day = django_filters.DateFilter(
        method=lambda qs, name, value: qs.filter(_local_day("received_at", value)),
        label="Received on",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )

    class Meta:
        model = InboundMessage
        fields = ["backend", "received", "number", "q", "sim", "day"]

    def filter_number(self, queryset, name, value):
        return queryset.filter(Q(sender__icontains=value) | Q(recipient__icontains=value))


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Number or name")
    opted_out = django_filters.BooleanFilter(
        field_name="opted_out_at",
        lookup_expr="isnull",
        exclude=True,
        label="Opted out",
        widget=forms.Select(choices=[("", "Any"), ("true", "Opted out"), ("false", "Not opted out")]),
    )

    class Meta:
        model = Contact
        fields = ["q", "opted_out"]

    def search(self, queryset, name, value):
        """A number as staff type it (07400 100003, +44 7400..., a few digits) or part of a name."""
        query = Q(search_name__contains=fold(value)) if fold(value) else Q(name__icontains=value)
        digits = "".join(c for c in value if c.isdigit())
        if digits:
            query |= Q(number__contains=digits) | Q(number__contains=digits.lstrip("0") or digits)
        try:
            query |= Q(number=normalise(value))
        except InvalidNumber:
            pass
        return queryset.filter(query)


class ConsentFilter(django_filters.FilterSet):
    number = django_filters.CharFilter(field_name="number", lookup_expr="contains", label="Number contains")
    kind = django_filters.ChoiceFilter(choices=ConsentEvent.Kind.choices, empty_label="Any")
    source = django_filters.CharFilter(field_name="source", lookup_expr="iexact")
    at = _DateRange(field_name="at", label="Between")

    class Meta:
        model = ConsentEvent
        fields = ["number", "kind", "source", "at"]
