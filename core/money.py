"""The one place that owns money rounding. Amounts are Decimal, stored with 2 places;
rates and intermediates keep 6 or more. Rounding is half-up, applied per bill line."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ROUNDING = ROUND_HALF_UP
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")


def to_decimal(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # Go through repr so 0.1 stays 0.1 and not 0.1000000000000000055...
        return Decimal(repr(value))
    return Decimal(value)


def money(value) -> Decimal:
    """Round an amount to cents, half-up."""
    return to_decimal(value).quantize(CENT, rounding=ROUNDING)


def rate(value) -> Decimal:
    """Round a rate or intermediate quantity to 6 places, half-up."""
    return to_decimal(value).quantize(RATE_PLACES, rounding=ROUNDING)


# ---- display -------------------------------------------------------------------------------
# The one way money and prices are written for people (bills, e-bills, hubs, the portal). In
# English "$1,234.56", a negative amount "-$12.00"; in French (the portal, when a customer
# reads it in French) "1 234,56 $" and "-12,00 $", as Canadian French writes dollars. The
# language is the active Django language unless `locale` names one; only the portal activates
# another than English. Files meant for machines (CSV) pass locale="en".
CURRENCY_SYMBOL = "$"
NBSP = "\u00a0"
# language -> (thousands separator, decimal separator, symbol before the amount)
_STYLES = {"en": (",", ".", True), "fr": (NBSP, ",", False)}


def display_language(locale: str | None = None) -> str:
    """The language ("en", "fr") numbers are written in: `locale`, else the active one."""
    if locale is None:
        from django.utils import translation  # here: the rounding above needs no Django

        locale = translation.get_language() or "en"
    lang = locale.split("-")[0].lower()
    return lang if lang in _STYLES else "en"


def _group(text: str, lang: str) -> str:
    thousands, decimal, _ = _STYLES[lang]
    whole, _, frac = text.partition(".")
    grouped = f"{int(whole):,}".replace(",", thousands) if whole else "0"
    return grouped + (decimal + frac if frac else "")


def _with_symbol(sign: str, digits: str, lang: str) -> str:
    if _STYLES[lang][2]:
        return f"{sign}{CURRENCY_SYMBOL}{digits}"
    return f"{sign}{digits}{NBSP}{CURRENCY_SYMBOL}"


def format_money(value, *, locale: str | None = None) -> str:
    """An amount as "$1,234.56" (rounded half-up to cents), a negative one as "-$12.00";
    None or "" as ""."""
    if value is None or value == "":
        return ""
    lang = display_language(locale)
    amount = money(value)
    sign = "-" if amount < 0 else ""
    return _with_symbol(sign, _group(f"{abs(amount):f}", lang), lang)


def format_price(value, *, max_places: int = 6, locale: str | None = None) -> str:
    """A unit price: at least cents, at most `max_places` places, trailing zeros dropped
    ("$0.10", "$0.0825", "-$1.00")."""
    if value is None or value == "":
        return ""
    lang = display_language(locale)
    price = to_decimal(value).quantize(Decimal(1).scaleb(-max_places), rounding=ROUNDING)
    sign = "-" if price < 0 else ""
    whole, _, frac = f"{abs(price):f}".partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return _with_symbol(sign, _group(whole + "." + frac, lang), lang)


def format_number(value, *, max_places: int = 3, locale: str | None = None) -> str:
    """A quantity for people: grouped thousands, at most `max_places` places, no trailing zeros
    ("1,234.5", "500"; in French "1 234,5")."""
    if value is None or value == "":
        return ""
    lang = display_language(locale)
    number = to_decimal(value).quantize(Decimal(1).scaleb(-max_places), rounding=ROUNDING)
    sign = "-" if number < 0 else ""
    text = f"{abs(number):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return sign + _group(text, lang)
