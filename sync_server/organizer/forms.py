"""HTML forms of the organizer's people and discount-code pages (Flask-WTF, CSRF). Their values
go through the API's body schemas (``staff/schemas.py``, ``devices/schemas.py``,
``orders/schemas.py``) before the services see them."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from sync_server.events.forms import LOCAL, cents, to_utc
from sync_server.orders.models import DiscountType
from sync_server.staff.models import StaffRole
from sync_server.webforms.forms import OnceForm


class StaffForm(OnceForm):
    email = EmailField("E-mail of their account", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name shown at the door", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice(StaffRole.SCANNER.value, "Scanner (door)"),
                                        SelectChoice(StaffRole.ADMIN.value, "Door admin")],
                       default=StaffRole.SCANNER.value)
    access_expires_at = DateTimeLocalField("Access ends", format=LOCAL,
                                           validators=[InputRequired("Enter when access ends.")])

    def values(self, zone: str) -> dict[str, Any]:
        return {"email": self.email.data or "", "role": self.role.data,
                "name": (self.name.data or "").strip() or None,
                "access_expires_at": to_utc(self.access_expires_at.data, zone)}


class SellerForm(OnceForm):
    email = EmailField("E-mail of their account", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    allocated_tickets = IntegerField("Tickets they may sell", default=0,
                                     validators=[InputRequired(), NumberRange(0, 1_000_000)])
    commission = DecimalField("Commission (%)", places=2, validators=[Optional(),
                                                                      NumberRange(0, 100)])

    def values(self) -> dict[str, Any]:
        rate = self.commission.data
        return {"email": self.email.data or "", "name": (self.name.data or "").strip() or None,
                "allocated_tickets": self.allocated_tickets.data,
                "commission_rate_bp": None if rate is None else int(rate * 100)}


class DeviceForm(OnceForm):
    name = StringField("Door name", default="Front door",
                       validators=[DataRequired(), Length(max=100)])


class RenameForm(FlaskForm):  # type: ignore[misc]  # flask-wtf ships no types
    name = StringField("New name", validators=[DataRequired(), Length(max=100)])


class DiscountCodeForm(OnceForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=40)])
    description = StringField("Note for you", validators=[Optional(), Length(max=500)])
    discount_type = SelectField("Kind", choices=[
        SelectChoice(DiscountType.PERCENTAGE.value, "Percent off"),
        SelectChoice(DiscountType.FIXED_AMOUNT.value, "Dollars off")])
    amount = DecimalField("Amount (percent, or dollars)", places=2,
                          validators=[InputRequired(), NumberRange(0.01, 100_000)])
    valid_from = DateTimeLocalField("Valid from", format=LOCAL, validators=[InputRequired()])
    valid_until = DateTimeLocalField("Valid until", format=LOCAL, validators=[InputRequired()])
    max_uses = IntegerField("Uses in all", validators=[Optional(), NumberRange(1, 1_000_000)])
    max_uses_per_user = IntegerField("Uses per buyer", validators=[Optional(),
                                                                   NumberRange(1, 1_000)])
    ticket_type_ids = SelectMultipleField("Only for these ticket types", coerce=int,
                                          validators=[Optional()])

    def values(self, zone: str) -> dict[str, Any]:
        percent = self.discount_type.data == DiscountType.PERCENTAGE.value
        amount = self.amount.data
        value = None if amount is None else (int(amount) if percent else cents(amount))
        return {"code": (self.code.data or "").strip(), "discount_type": self.discount_type.data,
                "value": value, "valid_from": to_utc(self.valid_from.data, zone),
                "valid_until": to_utc(self.valid_until.data, zone),
                "max_uses": self.max_uses.data, "max_uses_per_user": self.max_uses_per_user.data,
                "description": (self.description.data or "").strip(),
                "ticket_type_ids": list(self.ticket_type_ids.data or [])}


class DiscountCodeEditForm(DiscountCodeForm):
    """Everything but the code's text (buyers may already have it), and whether it works."""

    active = BooleanField("Active (buyers can use it)")

    def update_values(self, zone: str) -> dict[str, Any]:
        values = self.values(zone)
        del values["code"], values["ticket_type_ids"]  # fixed at creation, as in the API
        return {**values, "active": bool(self.active.data)}


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """A button that does what the page above it says."""
