"""Procurement forms: the quote comparison and the new-order form (items, supplier, ship-to address)."""

from __future__ import annotations

from wtforms import FieldList, Form, FormField, HiddenField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from aerospec.errors import ValidationFailed
from aerospec.forms import Form as PageForm

ORDER_TYPE_CHOICES = [("sample", "Sample"), ("pilot", "Pilot"), ("production", "Production")]
ORDER_TYPE_HELP = {
    "sample": "A few units to try on the bench. Paid by card before it goes to the supplier: paying submits it.",
    "pilot": "A short run to prove the line. Placed on account: submit it now, pay by card any time before cancelling.",
    "production": "Full-volume supply. Placed on account like a pilot order, at the supplier's volume prices.",
}
SUPPLIER_CHOICES = [
    ("spencer", "Spencer"),
    ("coster", "Coster"),
    ("", "Decide later (the draft has no price until you choose)"),
]
EXTRA_ITEM_ROWS = 2  # blank rows to add an actuator without JavaScript


class ItemForm(Form):
    """One order line: an actuator SKU and how many."""

    sku = StringField("SKU", validators=[Optional(), Length(max=40)])
    qty = IntegerField(
        "Quantity",
        validators=[Optional(), NumberRange(min=1, max=1_000_000, message="A whole number from 1 to 1,000,000.")],
    )


class AddressForm(Form):
    """Where the supplier ships; required parts are checked by the service (clean_address)."""

    name = StringField("Recipient name", validators=[Length(max=200)])
    company = StringField("Company (optional)", validators=[Length(max=200)])
    line1 = StringField("Address line 1", validators=[Length(max=200)])
    line2 = StringField("Address line 2 (optional)", validators=[Length(max=200)])
    city = StringField("City", validators=[Length(max=200)])
    region = StringField("State or region (optional)", validators=[Length(max=200)])
    postal_code = StringField("Postal code", validators=[Length(max=200)])
    country = StringField("Country (two-letter code, e.g. US)", validators=[Length(max=200)])
    phone = StringField("Phone (optional)", validators=[Length(max=200)])


def compared_field(items) -> str:
    """The hidden `compared` value for these QuoteItems ("SKU:qty SKU:qty")."""
    return " ".join(f"{item.sku}:{item.qty}" for item in items)


def _compared_item(token: str) -> dict:
    sku, _, qty = token.rpartition(":")
    return {"sku": sku or token, "qty": int(qty) if qty.isdigit() else None}


class ProcurementForm(PageForm):
    """A new draft order."""

    configuration_id = HiddenField()
    # The quote comparison the order came from ("SKU:qty SKU:qty"), kept with the order's quotes.
    compared = HiddenField()
    order_type = RadioField("Order type", choices=ORDER_TYPE_CHOICES, default="sample")
    selected_supplier = RadioField("Supplier", choices=SUPPLIER_CHOICES, default="", validate_choice=False)
    items = FieldList(FormField(ItemForm), min_entries=1)
    ship_to_address = FormField(AddressForm)
    notes = TextAreaField("Notes for the order (optional)", validators=[Optional(), Length(max=2000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.item_errors: list[str] = []

    def data_for_service(self) -> tuple[dict, list[int]]:
        """The service's body, and for each sent item the form row it came from (for error messages)."""
        items, rows = [], []
        for index, row in enumerate(self.items):
            sku = (row.form.sku.data or "").strip()
            if not sku and row.form.qty.data is None:
                continue  # a blank spare row
            items.append({"sku": sku, "qty": row.form.qty.data})
            rows.append(index)
        address = {k: (v or "").strip() for k, v in self.ship_to_address.data.items() if (v or "").strip()}
        data = {
            "configuration_id": self.configuration_id.data or None,
            "order_type": self.order_type.data,
            "selected_supplier": self.selected_supplier.data or None,
            "items": items,
            "ship_to_address": address,
            "notes": self.notes.data or None,
        }
        if (self.compared.data or "").strip():
            data["compared_items"] = [_compared_item(token) for token in self.compared.data.split()]
        return data, rows

    def apply_service_errors(self, error: ValidationFailed, rows: list[int]) -> None:
        """Show the service's errors (`ship_to_address.city`, `items.0.sku`, …) on the matching inputs."""
        for key, messages in error.field_errors.items():
            if key == "items":
                self.item_errors.extend(messages)
                continue
            target = self._field_for(key, rows)
            if target is not None:
                target.errors = list(target.errors or []) + list(messages)
            else:
                self.form_errors.extend(messages)
        if not error.field_errors and error.message:
            self.form_errors.append(error.message)

    def _field_for(self, key: str, rows: list[int]):
        parts = key.split(".")
        if parts[0] == "ship_to_address" and len(parts) == 2:
            return getattr(self.ship_to_address.form, parts[1], None)
        if parts[0] == "items" and len(parts) >= 2 and parts[1].isdigit():
            index = int(parts[1])
            if index >= len(rows):
                return None
            row = self.items[rows[index]].form
            if len(parts) == 3:
                return getattr(row, parts[2], None)
            return row.qty if row.sku.data and row.qty.data is None else row.sku
        if parts[0] in ("order_type", "selected_supplier", "notes") and len(parts) == 1:
            return getattr(self, parts[0])
        return None
