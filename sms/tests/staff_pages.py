"""Every staff page a stored text appears on, fetched as staff: none may fail after a webhook."""

from __future__ import annotations

from sms.models import Contact, InboundMessage

LIST_PAGES = ["/", "/sms/received/", "/replies/", "/sms/contacts/", "/sms/outbound/"]


def assert_staff_pages_render(client) -> int:
    """GET the lists and every stored text's (and its contact's) own pages; returns pages fetched."""
    urls = list(LIST_PAGES)
    for pk in InboundMessage.objects.values_list("pk", flat=True):
        urls.append(f"/sms/received/{pk}/")
    for pk in Contact.objects.values_list("pk", flat=True):
        urls += [f"/sms/contacts/{pk}/", f"/replies/contacts/{pk}/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        assert response.content  # rendered whole
    return len(urls)
