"""The buyer's "split the payment" form (Flask-WTF: CSRF checked) and the payer's Pay button.

A row of the form is a payer: name, e-mail, amount in dollars. Blank rows are ignored, so the
form shows a few rows and "Add a payer" adds one more (no script: a second submit button that
re-renders what was typed). Each used row must be whole; the amounts must add up to the order's
total, exactly, in cents — said next to the amounts and on top, in words.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, FieldList, Form, FormField, StringField, SubmitField
from wtforms.validators import Length, Optional, Regexp

from sync_server.payments.splits import MAX_SHARES, MIN_SHARE_CENTS, ShareRequest

ROWS_SHOWN = 3
_AMOUNT = re.compile(r"^\$?\s*(\d{1,6})(?:\.(\d{1,2}))?$")
_EMAIL = Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Enter an e-mail address.")


def cents_of(text: str) -> int | None:
    """``"12.5"``, ``"$12.50"``, ``"12"`` -> cents; anything else -> None."""
    found = _AMOUNT.match(text.strip())
    if found is None:
        return None
    return int(Decimal(f"{found[1]}.{found[2] or '0'}") * 100)


def dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


class PayerForm(Form):  # type: ignore[misc]  # a row of SplitForm (the parent carries the CSRF)
    payer_name = StringField("Name", validators=[Optional(), Length(max=200)],
                             render_kw={"autocomplete": "off", "maxlength": 200})
    payer_email = EmailField("E-mail", validators=[Optional(), Length(max=254), _EMAIL],
                             render_kw={"autocomplete": "off", "maxlength": 254})
    amount = StringField("Amount ($)", validators=[Optional(), Length(max=12)],
                         render_kw={"inputmode": "decimal", "maxlength": 12})

    def used(self) -> bool:
        return any((f.data or "").strip() for f in (self.payer_name, self.payer_email,
                                                    self.amount))


class SplitForm(FlaskForm):  # type: ignore[misc]
    payers = FieldList(FormField(PayerForm), min_entries=ROWS_SHOWN, max_entries=MAX_SHARES)
    more = SubmitField("Add a payer")
    submit = SubmitField("Split and e-mail each payer")

    def shares(self, total_cents: int) -> list[ShareRequest] | None:
        """The shares asked for, or None with each problem next to its field (and in
        ``self.problems`` for what belongs to no one field)."""
        self.problems: list[str] = []
        ok = self.validate()
        rows: list[Any] = [entry.form for entry in self.payers if entry.form.used()]
        wanted: list[ShareRequest] = []
        for row in rows:
            name = (row.payer_name.data or "").strip()
            email = (row.payer_email.data or "").strip().lower()
            cents = cents_of(row.amount.data or "")
            if not name:
                row.payer_name.errors = [*row.payer_name.errors, "Give the payer's name."]
            if not email:
                row.payer_email.errors = [*row.payer_email.errors,
                                          "Give the payer's e-mail: their link is sent there."]
            if cents is None:
                row.amount.errors = [*row.amount.errors, "Give an amount in dollars, "
                                     "like 12.50."]
            elif cents < MIN_SHARE_CENTS:
                row.amount.errors = [*row.amount.errors,
                                     f"Each share is at least {dollars(MIN_SHARE_CENTS)}."]
            if name and email and cents is not None:
                wanted.append(ShareRequest(name, email, cents))
        if len(rows) < 2:
            self.problems.append("Name at least two payers (you may be one of them).")
        elif len(wanted) == len(rows) and sum(s.amount_cents for s in wanted) != total_cents:
            given = sum(s.amount_cents for s in wanted)
            self.problems.append(f"The amounts add up to {dollars(given)}; they must add up to "
                                 f"the order's total, {dollars(total_cents)}.")
            for row in rows:
                row.amount.errors = [*row.amount.errors, "Check this amount."]
        has_errors = any(f.errors for row in rows for f in (row.payer_name, row.payer_email,
                                                            row.amount))
        if not ok or has_errors or self.problems:
            return None
        return wanted


class PayShareForm(FlaskForm):  # type: ignore[misc]
    pay = SubmitField("Pay")
