"""Public extension points for other Django apps (never how our own apps call each other)."""

from django.dispatch import Signal

# sender=OutboundMessage, message=..., previous=<state>, state=<state>
status_changed = Signal()
# sender=OutboundMessage, message=...: the gateway accepted the text (SENT or DEBUG)
message_sent = Signal()
# sender=InboundMessage, message=...: an inbound text was stored (once) and passed the pipeline
message_received = Signal()
