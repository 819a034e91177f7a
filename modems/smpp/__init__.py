"""SMPP 3.4 routes: a long-lived client per route (``manage.py smpp_worker ROUTE``).

``codec``: texts to submit_sm parts and deliver_sm back to texts and receipts;
``session``: one bound connection (smpplib) with a window of outstanding submit_sm;
``worker``: claims the texts handed to its route, submits them, stores ids and receipts,
reconnects with backoff; ``smsc``: the test SMSC (npm's ``smpp`` package) for tests and bench.
"""
