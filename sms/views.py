from django.shortcuts import get_object_or_404, render

from sms.models import Contact, InboundMessage, OutboundMessage


def outbound_list(request):
    messages = OutboundMessage.objects.select_related("campaign")[:100]
    return render(request, "sms/outbound_list.html", {"messages_": messages})


def outbound_detail(request, pk):
    message = get_object_or_404(OutboundMessage, pk=pk)
    return render(request, "sms/outbound_detail.html", {"message": message})


def inbound_list(request):
    messages = InboundMessage.objects.all()[:100]
    return render(request, "sms/inbound_list.html", {"messages_": messages})


def inbound_detail(request, pk):
    message = get_object_or_404(InboundMessage, pk=pk)
    return render(request, "sms/inbound_detail.html", {"message": message})


def compose(request):
    return render(request, "sms/compose.html", {})


def contact_detail(request, pk):
    contact = get_object_or_404(Contact, pk=pk)
    return render(request, "sms/contact_detail.html", {"contact": contact})
