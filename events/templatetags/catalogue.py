"""Display helpers for the catalogue's pages: money, prices "from", card states, map links."""

from decimal import Decimal

from django import template

from events.models import Event, Venue
from events.selectors import TicketState, event_card_state

register = template.Library()

_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


@register.filter
def money(amount: Decimal | None, currency: str | None = "EUR") -> str:
    """€27.50 (a known currency's symbol, else the code: CHF 27.50)."""
    if amount is None:
        return ""
    code = (currency or "EUR").upper()
    value = f"{Decimal(amount).quantize(Decimal('0.01')):,}"
    symbol = _SYMBOLS.get(code)
    return f"{symbol}{value}" if symbol else f"{code} {value}"


@register.filter
def price_from(event: Event) -> str:
    """An event card's price, from ``event_list_public``'s annotations: "from €27.50", "Free" or ""."""
    lowest = getattr(event, "min_price", None)
    if lowest is None:
        return ""
    if lowest == 0:
        return "Free"
    return f"from {money(lowest, getattr(event, 'price_currency', None))}"


@register.filter
def card_state(event: Event) -> TicketState:
    return event_card_state(event=event)


@register.filter
def maps_url(venue: Venue) -> str:
    """OpenStreetMap centred on the venue (a link only: no map tiles are loaded by our pages)."""
    if venue.latitude is None or venue.longitude is None:
        return ""
    return (
        f"https://www.openstreetmap.org/?mlat={venue.latitude}&mlon={venue.longitude}"
        f"#map=17/{venue.latitude}/{venue.longitude}"
    )
