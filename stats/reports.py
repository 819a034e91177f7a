"""The Stats page's tables, each a function of a period returning a ``Table`` (hence a CSV).

Counts of texts come from the hourly roll-ups (``sms.rollups``: two small queries whatever the
volume); what the roll-ups do not hold (reply types, error texts, the consent ledger, labels)
is aggregated live over the period only, on indexed columns. A text counts on the day it was
queued, a reply on the day it was received.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Template
from modems.models import SimCard
from replies.models import Label, ReplyType, Source
from replies.rollups import reply_counts
from sms import rollups
from sms.encoding import is_gsm7, segment_info, to_gsm7
from sms.models import ConsentEvent, Encoding, OutboundMessage, State
from stats.ranges import Period
from stats.tables import Cell, Table, percent

REACHED = (State.SENT, State.DELIVERED, State.ERROR_UPDATE)  # reached a gateway that reports delivery
CHARGED = (State.SENT, State.DELIVERED, State.ERROR_UPDATE, State.UNKNOWN)  # a gateway took (may have taken) it
SENT_STATES = (*CHARGED, State.DEBUG)
FAILED = (State.ERROR, State.ERROR_UPDATE)
PENDING = (State.WAITING, State.ERROR_RETRY, State.SENDING)


@dataclass(frozen=True)
class Route:
    sim_pk: int  # 0: no SIM, the default backend
    backend: str

    def key(self):
        return (self.sim_pk, "" if self.sim_pk else self.backend)


def _sims() -> dict[int, SimCard]:
    return {sim.pk: sim for sim in SimCard.objects.select_related("network")}


def _route_name(route: tuple, sims: dict[int, SimCard]) -> str:
    sim_pk, backend = route
    if sim_pk:
        return str(sims[sim_pk]) if sim_pk in sims else f"SIM {sim_pk} (deleted)"
    return f"Default backend ({backend})" if backend else "No route yet (queued, refused)"


def _route(sim_pk: int, backend: str) -> tuple:
    return (sim_pk, "" if sim_pk else backend)


def _list_prefix(name: str, route: tuple) -> str:
    """The list's URL for the route, up to the day (reversed once per column, not per cell)."""
    sim_pk, backend = route
    query = {"sim": sim_pk or "none"}
    if not sim_pk and backend:
        query["backend"] = backend
    return f"{reverse(name)}?{urlencode(query)}&day="


# --- Texts per SIM per day (Texting Centre's table) --------------------------------------


def received_per_route(period: Period) -> dict[tuple, dict[str, int]]:
    """Texts received per (day, SIM, backend): shared by the table and the chart of the tab."""
    return rollups.inbound_counts(by=("day", "sim_pk", "backend"), first=period.first, last=period.last)


def per_sim_per_day(period: Period, inb: dict | None = None) -> tuple[Table, dict]:
    """A row a day (newest first), two columns a route (sent, received), each count linked to
    that route's texts of that day; and the least-used active SIM today."""
    sims = _sims()
    out = rollups.outbound_counts(by=("day", "sim_pk", "backend"), first=period.first, last=period.last)
    inb = received_per_route(period) if inb is None else inb
    cells: dict[tuple, Counter] = defaultdict(Counter)
    for (day, sim_pk, backend), figures in out.items():
        cells[(day, _route(sim_pk, backend))]["out"] += figures["n"]
    for (day, sim_pk, backend), figures in inb.items():
        cells[(day, _route(sim_pk, backend))]["in"] += figures["n"]
    used = {route for _, route in cells}
    routes = sorted(used | {(pk, "") for pk, sim in sims.items() if sim.active}, key=lambda r: (r[0] == 0, r))
    headers = ["Day"]
    for route in routes:
        name = _route_name(route, sims)
        headers += [f"{name} sent", f"{name} received"]
    table = Table("texts-per-sim", "Texts per SIM per day", headers)
    totals = Counter()
    prefixes = {r: (_list_prefix("sms:outbound_list", r), _list_prefix("sms:inbound_list", r)) for r in routes}
    empty = Counter()
    for day in reversed(period.days):
        row = [day]
        stamp = f"{day:%Y-%m-%d}"
        for route in routes:
            figures = cells.get((day, route), empty)
            out_prefix, in_prefix = prefixes[route]
            row.append(Cell(figures["out"], out_prefix + stamp))
            row.append(Cell(figures["in"], in_prefix + stamp))
            totals[(route, "out")] += figures["out"]
            totals[(route, "in")] += figures["in"]
        table.rows.append(row)
    table.footer = ["Total", *(totals[(route, d)] for route in routes for d in ("out", "in"))]
    today = timezone.localdate()
    active = [pk for pk, sim in sims.items() if sim.active]
    least = None
    if active:
        sent_today = {pk: cells.get((today, (pk, "")), Counter())["out"] for pk in active}
        pk = min(active, key=lambda pk: (sent_today[pk], -sims[pk].priority, pk))
        least = {"sim": sims[pk], "sent": sent_today[pk], "in_period": today in period.days}
    return table, {"least_used": least, "routes": [_route_name(r, sims) for r in routes]}


def daily_series(period: Period, inb: dict | None = None) -> dict[str, list[int]]:
    """Sent (left the building), failed and received per day, for the chart above the table."""
    out = rollups.outbound_counts(by=("day", "state"), first=period.first, last=period.last)
    inb = received_per_route(period) if inb is None else inb
    series = {"sent": Counter(), "failed": Counter(), "received": Counter()}
    for (day, state), figures in out.items():
        if state in SENT_STATES:
            series["sent"][day] += figures["n"]
        if state in FAILED:
            series["failed"][day] += figures["n"]
    for (day, *_route), figures in inb.items():
        series["received"][day] += figures["n"]
    return {name: [counts[day] for day in period.days] for name, counts in series.items()}


# --- Delivery --------------------------------------------------------------------------------


def _delivery_row(label, network, states: Counter) -> list:
    reached = sum(states[s] for s in REACHED)
    return [
        label,
        network,
        sum(states.values()),
        states[State.DELIVERED],
        states[State.SENT],
        states[State.ERROR_UPDATE],
        states[State.ERROR],
        states[State.UNKNOWN],
        states[State.REFUSED],
        sum(states[s] for s in PENDING),
        percent(states[State.DELIVERED], reached),
    ]


DELIVERY_HEADERS = [
    "Route",
    "Network",
    "Texts",
    "Delivered",
    "Sent, no report yet",
    "Undelivered",
    "Failed to send",
    "Unknown",
    "Refused",
    "Waiting",
    "Delivery rate %",
]


def delivery(period: Period) -> tuple[Table, Table]:
    sims = _sims()
    rows = rollups.outbound_counts(by=("sim_pk", "backend", "state"), first=period.first, last=period.last)
    by_route: dict[tuple, Counter] = defaultdict(Counter)
    by_network: dict[str, Counter] = defaultdict(Counter)
    for (sim_pk, backend, state), figures in rows.items():
        route = _route(sim_pk, backend)
        by_route[route][state] += figures["n"]
        network = sims[sim_pk].network.name if sim_pk in sims else "—"
        by_network[network][state] += figures["n"]
    routes = Table("delivery-by-route", "Delivery per route", DELIVERY_HEADERS)
    for route in sorted(by_route, key=lambda r: (r[0] == 0, r)):
        sim = sims.get(route[0])
        routes.rows.append(_delivery_row(_route_name(route, sims), sim.network.name if sim else "—", by_route[route]))
    networks = Table("delivery-by-network", "Delivery per network", DELIVERY_HEADERS[1:])
    for name in sorted(by_network):
        row = _delivery_row(name, "", by_network[name])
        networks.rows.append([row[0], *row[2:]])
    return routes, networks


def top_errors(period: Period, *, limit: int = 15) -> Table:
    """The commonest failure reasons per route (texts that failed to send or were undelivered)."""
    sims = _sims()
    rows = (
        OutboundMessage.objects.filter(state__in=FAILED, created_at__gte=period.start, created_at__lt=period.end)
        .values("sim_id", "backend", "error")
        .annotate(n=Count("pk"))
        .order_by("-n", "error")[:limit]
    )
    table = Table("top-errors", "Top failure reasons", ["Route", "Network", "Reason", "Texts"])
    for row in rows:
        sim = sims.get(row["sim_id"] or 0)
        route = _route(row["sim_id"] or 0, row["backend"])
        table.rows.append(
            [_route_name(route, sims), sim.network.name if sim else "—", row["error"] or "(no reason given)", row["n"]]
        )
    return table


# --- Replies -----------------------------------------------------------------------------------


def _names(model, pks) -> dict[int, str]:
    return dict(model.objects.filter(pk__in=[pk for pk in pks if pk]).values_list("pk", "name"))


def reply_rows(period: Period) -> list[tuple]:
    """(campaign, template, reply type, keyword, n) of the replies received in the period (None:
    not a reply to a campaign text / not sorted), from the replies' roll-up: one read shared by
    the reply tables of the page."""
    rows = reply_counts(
        by=("campaign_pk", "template_pk", "reply_type_pk", "keyword"), first=period.first, last=period.last
    )
    return [
        (campaign or None, template or None, type_pk or None, keyword, figures["n"])
        for (campaign, template, type_pk, keyword), figures in rows.items()
    ]


def replies_by_type(period: Period, rows: list[tuple] | None = None) -> Table:
    """Replies received in the period to each campaign's texts, per reply type."""
    counts: dict[int, Counter] = defaultdict(Counter)
    for campaign_pk, _template, type_pk, _keyword, n in reply_rows(period) if rows is None else rows:
        if campaign_pk:
            counts[campaign_pk][type_pk] += n
    types = list(ReplyType.objects.values_list("pk", "name"))
    names = _names(Campaign, counts)
    headers = ["Campaign", *(name for _, name in types), "Not sorted", "Total"]
    table = Table("replies-by-type", "Replies per reply type per campaign", headers)
    for campaign_pk in sorted(counts, reverse=True):
        c = counts[campaign_pk]
        table.rows.append(
            [names.get(campaign_pk, f"Campaign {campaign_pk}"), *(c[pk] for pk, _ in types), c[None], sum(c.values())]
        )
    return table


def _opt_outs(rows: list[tuple], index: int) -> Counter:
    """Replies that opted the sender out (STOP, or sorted into an opt-out type), per campaign
    (``index`` 0) or template (1)."""
    opt_out_types = set(ReplyType.objects.filter(action=ReplyType.Action.OPT_OUT).values_list("pk", flat=True))
    counts = Counter()
    for row in rows:
        if row[index] and (row[3] == "stop" or row[2] in opt_out_types):
            counts[row[index]] += row[4]
    return counts


def clicks(*, field: str, pks, period: Period) -> dict[int, dict[str, int]] | None:
    """Click-through per campaign or template (``links.stats.clicks``), or None without the
    ``links`` app (then the table has no click columns)."""
    if not apps.is_installed("links"):
        return None
    from links.stats import clicks as link_clicks  # the links app, below this one

    return link_clicks(field=field, pks=list(pks), first=period.first, last=period.last)


def sent_rows(period: Period) -> dict[tuple, dict[str, int]]:
    """Texts per (campaign, template, state) queued in the period: one read for both rate tables."""
    return rollups.outbound_counts(by=("campaign_pk", "template_pk", "state"), first=period.first, last=period.last)


def rates(period: Period, *, by: str, rows: list[tuple] | None = None, sent_by: dict | None = None) -> Table:
    """Texts sent, replies, reply rate, opt-outs and opt-out rate per campaign or template."""
    index = 0 if by == "campaign" else 1
    rows = reply_rows(period) if rows is None else rows
    sent = Counter()
    for key, figures in (sent_rows(period) if sent_by is None else sent_by).items():
        if key[index] and key[2] in SENT_STATES:
            sent[key[index]] += figures["n"]
    replies = Counter()  # replies received in the period (sorted or not), from the replies' roll-up
    for row in rows:
        if row[index]:
            replies[row[index]] += row[4]
    opt_outs = _opt_outs(rows, index)
    pks = sorted(set(sent) | set(replies), reverse=True)
    names = _names(Campaign if by == "campaign" else Template, pks)
    clicked = clicks(field=by, pks=pks, period=period)
    headers = [by.capitalize(), "Texts sent", "Replies", "Reply rate %", "Opt-outs", "Opt-out rate %"]
    if clicked is not None:
        headers += ["Texts with a link", "People who clicked", "Click-through %"]
    table = Table(f"rates-by-{by}", f"Reply and opt-out rates per {by}", headers)
    for pk in pks:
        row = [names.get(pk, f"{by.capitalize()} {pk}"), sent[pk], replies[pk], percent(replies[pk], sent[pk])]
        row += [opt_outs[pk], percent(opt_outs[pk], sent[pk])]
        if clicked is not None:
            links = clicked.get(pk, {"links": 0, "delivered": 0, "unique": 0})
            row += [links["links"], links["unique"], percent(links["unique"], links["delivered"])]
        table.rows.append(row)
    if clicked is None:
        table.note = "Click-through appears here once tracked links (the links app) are installed."
    else:
        table.note = (
            "Click-through: people who opened a tracked link (not link-preview bots) over the texts with a link "
            "that were delivered; empty where no text had a link."
        )
    return table


# --- Consent -----------------------------------------------------------------------------------

CONSENT_SOURCES = ("keyword", "classifier", "staff", "import")


def consent_source(source: str) -> str:
    """keyword, classifier and import as recorded; everything staff record (phone, e-mail...) is staff."""
    return source if source in ("keyword", "classifier", "import") else "staff"


def consent(period: Period) -> tuple[Table, dict[str, list[int]]]:
    rows = (
        ConsentEvent.objects.filter(at__gte=period.start, at__lt=period.end)
        .annotate(day=TruncDate("at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "kind", "source")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: Counter = Counter()
    for day, kind, source, n in rows:
        counts[(day, kind, consent_source(source))] += n
    kinds = ((ConsentEvent.Kind.OPT_OUT, "Opt-outs"), (ConsentEvent.Kind.OPT_IN, "Opt-ins"))
    headers = ["Day", *(f"{label} by {s}" for _, label in kinds for s in CONSENT_SOURCES)]
    table = Table("consent", "Opt-outs and opt-ins per day, by how they came", headers)
    for day in reversed(period.days):
        table.rows.append([day, *(counts[(day, kind, s)] for kind, _ in kinds for s in CONSENT_SOURCES)])
    table.footer = [
        "Total",
        *(
            sum(n for (_, k, src), n in counts.items() if k == kind and src == s)
            for kind, _ in kinds
            for s in CONSENT_SOURCES
        ),
    ]
    series = {
        label.lower(): [sum(counts[(day, kind, s)] for s in CONSENT_SOURCES) for day in period.days]
        for kind, label in kinds
    }
    return table, series


# --- Cost ----------------------------------------------------------------------------------------


def cost(period: Period) -> tuple[Table, dict]:
    """Segments charged per route and their estimated cost at the SIM's price per segment."""
    sims = _sims()
    rows = rollups.outbound_counts(by=("sim_pk", "backend", "encoding", "state"), first=period.first, last=period.last)
    per_route: dict[tuple, Counter] = defaultdict(Counter)
    for (sim_pk, backend, encoding, state), figures in rows.items():
        if state not in CHARGED:
            continue
        route = per_route[_route(sim_pk, backend)]
        route["texts"] += figures["n"]
        route["segments"] += figures["segments"]
        if encoding == Encoding.UCS2:
            route["ucs2_texts"] += figures["n"]
            route["ucs2_segments"] += figures["segments"]
    headers = ["Route", "Texts", "Segments", "UCS-2 texts", "UCS-2 segments", "Price per segment", "Currency", "Cost"]
    table = Table("cost-by-route", "Segments sent and estimated cost per route", headers)
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for route in sorted(per_route, key=lambda r: (r[0] == 0, r)):
        figures = per_route[route]
        sim = sims.get(route[0])
        price = sim.price_per_segment if sim else None
        currency = sim.currency if sim and price is not None else ""
        amount = (price * figures["segments"]).quantize(Decimal("0.01")) if price is not None else None
        if amount is not None:
            by_currency[currency] += amount
        table.rows.append(
            [
                _route_name(route, sims),
                figures["texts"],
                figures["segments"],
                figures["ucs2_texts"],
                figures["ucs2_segments"],
                price,
                currency,
                amount,
            ]
        )
    total = Counter()
    for figures in per_route.values():
        total.update(figures)
    table.footer = [
        "Total",
        total["texts"],
        total["segments"],
        total["ucs2_texts"],
        total["ucs2_segments"],
        "",
        "",
        "; ".join(f"{amount} {cur}" for cur, amount in sorted(by_currency.items())),
    ]
    table.note = (
        "Charged: texts a gateway took (sent, delivered, undelivered, unknown). Empty price: not set on the SIM."
    )
    return table, {"total": total, "by_currency": dict(by_currency), "ucs2": ucs2_sample(period, total)}


def ucs2_sample(period: Period, total: Counter, *, size: int = 500) -> dict:
    """Of the latest ``size`` charged UCS-2 texts of the period, those whose only non-GSM
    character is one character (a curly apostrophe, an emoji): what they cost against what
    they would have cost in GSM-7 without it. Bounded work, whatever the volume."""
    contents = list(
        OutboundMessage.objects.filter(
            encoding=Encoding.UCS2, state__in=CHARGED, created_at__gte=period.start, created_at__lt=period.end
        )
        .order_by("-created_at")
        .values_list("content", "segments")[:size]
    )
    culprits: Counter = Counter()
    one_char = extra = 0
    for content, segments in contents:
        odd = {ch for ch in content if not is_gsm7(ch)}
        if len(odd) != 1:
            continue
        (ch,) = odd
        replaced = to_gsm7(content) if is_gsm7(to_gsm7(content)) else content.replace(ch, "")
        saved = segments - segment_info(replaced).segments
        one_char += 1
        culprits[ch] += 1
        extra += max(saved, 0)
    return {
        "share_texts": percent(total["ucs2_texts"], total["texts"]),
        "share_segments": percent(total["ucs2_segments"], total["segments"]),
        "sampled": len(contents),
        "one_char": one_char,
        "extra_segments": extra,
        "culprits": [(ch, f"U+{ord(ch):04X}", n) for ch, n in culprits.most_common(5)],
    }


# --- Sorting -------------------------------------------------------------------------------------


def sorting(period: Period) -> tuple[Table, dict[str, list[int]]]:
    """Per day received: how the texts were sorted (keyword / classifier / staff) and how many
    still wait for review; and the labels staff gave that day (their review work)."""
    tz = timezone.get_current_timezone()
    by_day: dict = defaultdict(Counter)
    for (day, source, waiting), figures in reply_counts(
        by=("day", "source", "needs_review"), first=period.first, last=period.last
    ).items():
        row = by_day[day]
        row["total"] += figures["n"]
        if source in (Source.KEYWORD, Source.CLASSIFIER, Source.STAFF):
            row[source] += figures["n"]
        if waiting:
            row["waiting"] += figures["n"]
    staff_work = dict(
        Label.objects.filter(source=Source.STAFF, at__gte=period.start, at__lt=period.end)
        .annotate(day=TruncDate("at", tzinfo=tz))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    fields = ("keyword", "classifier", "staff", "waiting")
    headers = ["Day received", "Texts", "By keyword", "By classifier", "By staff", "Still waiting"]
    headers.append("Staff labels given")
    table = Table("sorting", "How texts were sorted, and the review queue", headers)
    for day in reversed(period.days):
        row = by_day.get(day, {})
        table.rows.append([day, row.get("total", 0), *(row.get(f, 0) for f in fields), staff_work.get(day, 0)])
    table.footer = [
        "Total",
        sum(r["total"] for r in by_day.values()),
        *(sum(r[f] for r in by_day.values()) for f in fields),
        sum(staff_work.values()),
    ]
    series = {f: [by_day.get(day, {}).get(f, 0) for day in period.days] for f in fields}
    return table, series
