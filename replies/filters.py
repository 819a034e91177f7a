import django_filters
from django import forms
from django.db.models import Q

from modems.models import SimCard
from replies.models import ReplyType
from sms.models import InboundMessage, OutboundMessage
from sms.search import fold


def _campaigns(request):
    """The campaigns texts were sent in, reached through the core's own relation: replies sits
    below campaigns and does not import it (DESIGN.md)."""
    return OutboundMessage._meta.get_field("campaign").related_model.objects.all()


class InboxFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    reply_type = django_filters.ModelChoiceFilter(
        field_name="reply__reply_type", queryset=ReplyType.objects.all(), null_label="Uncategorised", label="Type"
    )
    needs_review = django_filters.BooleanFilter(
        field_name="reply__needs_review",
        label="Needs review",
        widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]),
    )
    received_from = django_filters.DateFilter(field_name="received_at", lookup_expr="date__gte", label="From")
    received_to = django_filters.DateFilter(field_name="received_at", lookup_expr="date__lte", label="To")
    number = django_filters.CharFilter(field_name="sender", lookup_expr="icontains", label="Number")
    our_number = django_filters.CharFilter(field_name="recipient", lookup_expr="icontains", label="Our number")
    sim = django_filters.ModelChoiceFilter(queryset=SimCard.objects.all(), label="SIM")
    campaign = django_filters.ModelChoiceFilter(
        field_name="in_reply_to__campaign", queryset=_campaigns, label="Campaign"
    )

    class Meta:
        model = InboundMessage
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.form.fields.items():
            select = field.widget.__class__.__name__.endswith("Select")
            field.widget.attrs["class"] = "form-select form-select-sm" if select else "form-control form-control-sm"
            if name.startswith("received_"):
                field.widget.input_type = "date"

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(content__icontains=value) | Q(sender__icontains=value) | Q(contact__search_name__contains=fold(value))
        )
