"""Small template helpers of the sms pages."""

from django import template
from django.urls import NoReverseMatch
from django.utils.html import format_html

from sms.tables import state_badge as _state_badge

register = template.Library()


@register.simple_tag
def state_badge(state: str, label: str = ""):
    return _state_badge(state, label or state)


@register.simple_tag
def link_to(obj, text=None):
    """A link to ``obj``'s page if it has one (other apps add pages over time), else its name."""
    if obj is None:
        return "—"
    label = text if text is not None else str(obj)
    try:
        url = obj.get_absolute_url()
    except (AttributeError, NoReverseMatch):
        return label
    return format_html('<a href="{}">{}</a>', url, label)
