"""What a customer reads when the card gateway refuses a card or a charge, in the active
language. Gateways answer in English with a code; the codes below (the sandbox's, which are the
card networks' usual ones) have their own words, marked for translation, and an unknown code
falls back on a general sentence, so a French page never shows the gateway's English."""
from __future__ import annotations

from django.utils.translation import gettext_lazy

# What card_payment_take records on a charge the gateway did not answer (nothing was charged).
NO_ANSWER_MESSAGE = "The gateway did not answer: nothing was charged."
NO_ANSWER_CODE = "no_answer"

# Why a charge did not go through: a fragment ("Visa ending 4242: insufficient funds.").
_DECLINE_REASONS = {
    "card_declined": gettext_lazy("the card was declined"),
    "insufficient_funds": gettext_lazy("insufficient funds"),
    "expired_card": gettext_lazy("the card has expired"),
    "incorrect_cvc": gettext_lazy("the security code is not right"),
    "processing_error": gettext_lazy("the card processor had a problem"),
    NO_ANSWER_CODE: gettext_lazy("the card processor did not answer"),
}

# Why the card data was refused before any charge: a sentence under the field it is about.
_REJECTIONS = {
    "invalid_number": gettext_lazy("This is not a valid card number."),
    "incorrect_number": gettext_lazy("This is not a valid card number."),
    "invalid_expiry": gettext_lazy("The expiry date is in the past or not a date."),
    "expired_card": gettext_lazy("The card has expired."),
    "invalid_cvc": gettext_lazy("The security code is not valid for this card."),
    "incorrect_cvc": gettext_lazy("The security code is not valid for this card."),
    "card_declined": gettext_lazy("The card was declined."),
}


def card_decline_reason(*, code: str, message: str = "") -> str:
    """A declined or failed charge's reason for the customer (a fragment, no full stop)."""
    if message == NO_ANSWER_MESSAGE:
        code = NO_ANSWER_CODE
    return str(_DECLINE_REASONS.get(code) or gettext_lazy("declined"))


def card_rejection_text(*, code: str, message: str = "") -> str:
    """The card data the gateway refused, for the customer (a sentence)."""
    return str(_REJECTIONS.get(code) or gettext_lazy("The card processor refused this card: check the number, "
                                                     "the expiry date and the security code."))
