"""The checkout's forms: ticket quantities (event page), the guest's email, and holder names (checkout)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from events.models import TicketType
from events.pages import TicketRow
from orders.models import Order
from orders.services import HOLDER_NAME_MAX_LENGTH, OrderLineInput

QUANTITY_PREFIX = "qty_"


def quantity_field_name(ticket_type: TicketType) -> str:
    return f"{QUANTITY_PREFIX}{ticket_type.pk}"


class BuyForm(forms.Form):
    """One quantity select per ticket type, plus the email for a guest (who has no account to send to).

    Shown with the ticket types a buyer can choose now, each from 0 to min(max per order, seats left).
    Checked on POST against max per order only: whether seats are still there, and whether sales are
    open, is the service's answer to give (in one transaction with the hold), not the form's.
    """

    event = forms.CharField(widget=forms.HiddenInput)
    email = forms.EmailField(
        label="Your email",
        help_text="We send your tickets here. No account needed.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(
        self, *args: Any, ticket_types: Iterable[tuple[TicketType, int]], guest: bool, **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        if not guest:
            del self.fields["email"]
        self.ticket_types: list[TicketType] = []
        for ticket_type, most in ticket_types:
            self.ticket_types.append(ticket_type)
            self.fields[quantity_field_name(ticket_type)] = forms.TypedChoiceField(
                label=f"{ticket_type.name}: number of tickets",
                choices=[(n, str(n)) for n in range(most + 1)],
                coerce=int,
                initial=0,
                required=False,
                empty_value=0,  # type: ignore[arg-type]  # coerce=int: the empty choice is 0
            )

    @classmethod
    def for_page(cls, *, rows: Iterable[TicketRow], event_slug: str, guest: bool) -> BuyForm:
        """The form as the event page shows it: buyable ticket types only."""
        choices = [
            (row.ticket_type, min(row.ticket_type.max_per_order, row.state.available))
            for row in rows
            if row.state.can_buy and row.state.available > 0
        ]
        return cls(ticket_types=choices, guest=guest, initial={"event": event_slug})

    @classmethod
    def for_post(cls, data: Any, *, ticket_types: Iterable[TicketType], guest: bool) -> BuyForm:
        return cls(data, ticket_types=[(tt, tt.max_per_order) for tt in ticket_types], guest=guest)

    def quantity_fields(self) -> list[forms.BoundField]:
        return [self[quantity_field_name(tt)] for tt in self.ticket_types]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not self.lines():
            raise forms.ValidationError("Choose how many tickets you want.", code="quantity_invalid")
        return cleaned

    def lines(self) -> list[OrderLineInput]:
        return [
            OrderLineInput(ticket_type_id=tt.pk, quantity=self.cleaned_data.get(quantity_field_name(tt)) or 0)
            for tt in self.ticket_types
            if self.cleaned_data.get(quantity_field_name(tt))
        ]


class HolderNamesForm(forms.Form):
    """One optional name per admission, labelled with its ticket ("Ticket 2 (Standing): name on it").

    Built from the order's lines, in the order tickets are issued (line by line). Lengths are checked here
    so each field can show its own error; the service checks them again, with the count.
    """

    def __init__(self, *args: Any, admissions: Iterable[str], names: Iterable[str] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        current = list(names)
        for n, ticket_name in enumerate(admissions, start=1):
            self.fields[holder_field_name(n)] = forms.CharField(
                label=f"Ticket {n} ({ticket_name}): name on the ticket",
                max_length=HOLDER_NAME_MAX_LENGTH,
                required=False,
                initial=current[n - 1] if n <= len(current) else "",
                widget=forms.TextInput(attrs={"autocomplete": "off"}),
            )

    @classmethod
    def for_order(cls, order: Order, data: Any = None) -> HolderNamesForm:
        admissions = [line.ticket_type.name for line in order.lines.all() for _ in range(line.quantity)]
        return cls(data, admissions=admissions, names=order.holder_names or [])

    def names(self) -> list[str]:
        return [self.cleaned_data.get(name) or "" for name in self.fields]


def holder_field_name(n: int) -> str:
    return f"holder_{n}"
