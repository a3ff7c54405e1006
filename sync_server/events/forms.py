"""HTML forms of the event editor (Flask-WTF, CSRF). They check what a browser sends (types,
required fields); the rules are the API's own: values go through the API's pydantic bodies
(``events/schemas.py``) and then the services, and their refusals come back next to the fields.

Times are typed in the event's own time zone (``datetime-local``) and stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from sync_server.events.models import EventType
from sync_server.webforms.forms import OnceForm

LOCAL = "%Y-%m-%dT%H:%M"
EVENT_TYPES = [SelectChoice(EventType.TICKETED_EVENT.value, "Ticketed (paid tickets)"),
               SelectChoice(EventType.FREE_EVENT.value, "Free (tickets cost nothing)"),
               SelectChoice(EventType.SAVE_THE_DATE.value, "Save the date (no tickets yet)")]
COMMON_ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
                "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "UTC"]


def zone_choices() -> list[SelectChoice]:
    rest = sorted(z for z in available_timezones() if "/" in z and z not in COMMON_ZONES)
    return [SelectChoice(z) for z in COMMON_ZONES + rest]


def to_utc(local: datetime | None, zone: str) -> datetime | None:
    """A wall-clock time typed in ``zone`` as aware UTC."""
    if local is None:
        return None
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def to_local(moment: datetime | None, zone: str) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def cents(amount: Any) -> int | None:
    """Dollars typed on a page (``12.50``) as whole cents."""
    return None if amount is None else int((amount * 100).to_integral_value())


class EventFields(FlaskForm):  # type: ignore[misc]  # flask-wtf ships no types
    event_type = SelectField("Kind of event", choices=EVENT_TYPES,
                             default=EventType.TICKETED_EVENT.value)
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=10_000)])
    starts_at = DateTimeLocalField("Starts", format=LOCAL,
                                   validators=[InputRequired("Enter when it starts.")])
    ends_at = DateTimeLocalField("Ends", format=LOCAL, validators=[Optional()])
    timezone = SelectField("Time zone", choices=zone_choices, default="America/Chicago")
    venue_name = StringField("Venue", validators=[Optional(), Length(max=200)])
    address = StringField("Street address", validators=[Optional(), Length(max=300)])
    city = StringField("City", validators=[Optional(), Length(max=120)])
    state = StringField("State", validators=[Optional(), Length(max=120)])
    zip_code = StringField("ZIP code", validators=[Optional(), Length(max=20)])
    country = StringField("Country (2 letters)", default="US",
                          validators=[DataRequired(), Length(min=2, max=2)])
    latitude = FloatField("Latitude", validators=[Optional(), NumberRange(-90, 90)])
    longitude = FloatField("Longitude", validators=[Optional(), NumberRange(-180, 180)])
    categories = StringField("Categories", validators=[Optional(), Length(max=500)])
    door_price_text = StringField("Price at the door", validators=[Optional(), Length(max=200)])
    allow_transfers = BooleanField("Buyers may transfer tickets", default=True)
    allow_waitlist = BooleanField("Waiting list when sold out")
    min_tickets_per_order = IntegerField("Fewest tickets per order", default=1,
                                         validators=[InputRequired(), NumberRange(1, 100)])
    max_tickets_per_order = IntegerField("Most tickets per order", default=10,
                                         validators=[InputRequired(), NumberRange(1, 100)])

    def values(self) -> dict[str, Any]:
        """The API's body (``EventCreate``/``EventUpdate``) from what was typed."""
        zone = self.timezone.data
        names = [c.strip() for c in (self.categories.data or "").split(",") if c.strip()]
        return {
            "event_type": self.event_type.data, "name": (self.name.data or "").strip(),
            "description": self.description.data or "",
            "starts_at": to_utc(self.starts_at.data, zone),
            "ends_at": to_utc(self.ends_at.data, zone), "timezone": zone,
            "venue_name": self.venue_name.data or "", "address": self.address.data or "",
            "city": self.city.data or "", "state": self.state.data or "",
            "zip_code": self.zip_code.data or "",
            "country": (self.country.data or "").strip().upper(),
            "latitude": self.latitude.data, "longitude": self.longitude.data,
            "categories": names, "door_price_text": (self.door_price_text.data or None),
            "allow_transfers": bool(self.allow_transfers.data),
            "allow_waitlist": bool(self.allow_waitlist.data),
            "min_tickets_per_order": self.min_tickets_per_order.data,
            "max_tickets_per_order": self.max_tickets_per_order.data,
        }


class NewEventForm(EventFields, OnceForm):
    pass




class Versioned:
    """An edit form: it carries the version of the row the page showed (``services``' stale
    check); a damaged one reads as -1, so it is treated as stale, never as "no check"."""

    version = HiddenField()

    def expected_version(self) -> int:
        try:
            return int(self.version.data or "")
        except ValueError:
            return -1


class EditEventForm(EventFields, Versioned):
    pass


class DayFields(FlaskForm):  # type: ignore[misc]
    starts_at = DateTimeLocalField("Doors open", format=LOCAL,
                                   validators=[InputRequired("Enter when the day starts.")])
    ends_at = DateTimeLocalField("Ends", format=LOCAL,
                                 validators=[InputRequired("Enter when the day ends.")])
    venue_name_override = StringField("Venue, if not the event's",
                                      validators=[Optional(), Length(max=200)])
    address_override = StringField("Street address, if not the event's",
                                   validators=[Optional(), Length(max=300)])
    city_override = StringField("City, if not the event's",
                                validators=[Optional(), Length(max=120)])
    state_override = StringField("State, if not the event's",
                                 validators=[Optional(), Length(max=120)])
    description_override = TextAreaField("What is different that day",
                                         validators=[Optional(), Length(max=10_000)])

    OVERRIDES = ("venue_name_override", "address_override", "city_override", "state_override",
                 "description_override")

    def values(self, zone: str) -> dict[str, Any]:
        """The API's ``DayCreate``/``DayUpdate`` body; an empty override is "as the event"."""
        return {"starts_at": to_utc(self.starts_at.data, zone),
                "ends_at": to_utc(self.ends_at.data, zone),
                **{name: (getattr(self, name).data or "").strip() or None
                   for name in self.OVERRIDES}}


class DayForm(DayFields, OnceForm):
    pass


class DayEditForm(DayFields, Versioned):
    pass


class TicketTypeFields(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=10_000)])
    price = DecimalField("Price ($)", places=2, default=0,
                         validators=[InputRequired("Enter a price (0 for free)."),
                                     NumberRange(0, 100_000)])
    quantity_total = IntegerField("How many", validators=[InputRequired(),
                                                          NumberRange(1, 1_000_000)])
    event_day_id = SelectField("Valid for", coerce=str, default="")
    sales_start = DateTimeLocalField("Sales open", format=LOCAL, validators=[Optional()])
    sales_end = DateTimeLocalField("Sales close", format=LOCAL, validators=[Optional()])
    min_per_order = IntegerField("Fewest per order", default=1,
                                 validators=[InputRequired(), NumberRange(1, 100)])
    max_per_order = IntegerField("Most per order", default=10,
                                 validators=[InputRequired(), NumberRange(1, 100)])
    active = BooleanField("On sale", default=True)

    def values(self, zone: str) -> dict[str, Any]:
        return {"name": (self.name.data or "").strip(), "price_cents": cents(self.price.data),
                "description": (self.description.data or "").strip(),
                "quantity_total": self.quantity_total.data,
                "event_day_id": int(self.event_day_id.data) if self.event_day_id.data else None,
                "sales_start": to_utc(self.sales_start.data, zone),
                "sales_end": to_utc(self.sales_end.data, zone),
                "min_per_order": self.min_per_order.data,
                "max_per_order": self.max_per_order.data, "active": bool(self.active.data)}


class TicketTypeForm(TicketTypeFields, OnceForm):
    pass


class TicketTypeEditForm(TicketTypeFields, Versioned):
    pass


class BundleFields(FlaskForm):  # type: ignore[misc]
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=10_000)])
    price = DecimalField("Price ($)", places=2, default=0,
                         validators=[InputRequired(), NumberRange(0, 100_000)])
    discount_percentage = IntegerField("Saving to show buyers (%)",
                                       validators=[Optional(), NumberRange(0, 100)])
    quantity_total = IntegerField("How many", validators=[InputRequired(),
                                                          NumberRange(1, 1_000_000)])
    event_day_ids = SelectMultipleField("Days it covers", coerce=int,
                                        validators=[DataRequired("Choose at least one day.")])
    active = BooleanField("On sale", default=True)

    def values(self) -> dict[str, Any]:
        return {"name": (self.name.data or "").strip(), "price_cents": cents(self.price.data),
                "description": (self.description.data or "").strip(),
                "discount_percentage": self.discount_percentage.data,
                "quantity_total": self.quantity_total.data,
                "event_day_ids": list(self.event_day_ids.data or []),
                "active": bool(self.active.data)}


class BundleForm(BundleFields, OnceForm):
    pass


class BundleEditForm(BundleFields, Versioned):
    pass


class ImageForm(FlaskForm):  # type: ignore[misc]
    image = FileField("Picture (JPEG, PNG or WebP, up to 5 MB)")


class ConfirmForm(FlaskForm):  # type: ignore[misc]
    """Publish / cancel: the button on the page that says what will happen."""
