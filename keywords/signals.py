"""Signals of the keywords app: a public extension point for other apps.

``keyword_received(sender=Keyword, message, keyword, argument)`` fires once per routed text,
after the keyword's handler (if any) said handled, inside the text's transaction. Unlike a
handler, a receiver cannot ask for a retry: an exception in a receiver is logged and ignored
(``send_robust``), and the gateway is told the text was handled. Use a handler when the work
must succeed for the text to count as received.
"""

from django.dispatch import Signal

keyword_received = Signal()
