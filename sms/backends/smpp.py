"""SMPP 3.4 routes (an SMSC account, modelled as a gateway-account SIM with backend ``smpp``).

The dispatcher never submits these texts itself: the router hands them to the route
(``hands_over``), and the route's long-lived worker (``manage.py smpp_worker ROUTE``, in
``modems.smpp``) claims them, keeps the bind, the window of outstanding submit_sm, the
enquire_link keep-alive and the receipts. Options (the SIM's route options): ``host``,
``port``, ``system_id``, ``system_type``, ``window``, ``source_addr``; the bind password comes
from the environment (credential variable ``password``).
"""

from __future__ import annotations

from sms.backends.base import BackendError, BaseBackend


class SmppBackend(BaseBackend):
    slug = "smpp"
    name = "SMPP 3.4 (SMSC)"
    standalone = False
    #: The route's own worker process sends (the router hands texts over; see modems.smpp).
    hands_over = True

    def publish_message(self, message):
        raise BackendError("SMPP texts are sent by the route's smpp_worker, not by the dispatcher")
