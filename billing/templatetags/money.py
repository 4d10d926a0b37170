"""Amounts in cents as people read them: `{{ payment.amount|money:payment.currency }}` gives "80.00 EUR"."""

from django import template

from billing.forms import decimal_of

register = template.Library()


@register.filter
def money(cents: int | None, currency: str = "") -> str:
    if cents is None:
        return ""
    return f"{decimal_of(cents)} {currency.upper()}".strip()
