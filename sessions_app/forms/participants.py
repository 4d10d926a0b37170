from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row

from billing.forms import payment_initial
from billing.models import Payment, Service
from sessions_app.forms.schedule import ParticipantForm, PaymentAsked, documents_choice_of, documents_shown_of
from sessions_app.models import Participant


def _contact_fields() -> Row:
    # The wrappers carry data-contact-field so participants.js shows only the field the method needs.
    return Row(
        Column("email", css_class="col-md-6", data_contact_field="email"),
        Column("phone", css_class="col-md-6", data_contact_field="phone"),
    )


def _documents_field(form) -> list:
    return [Row(Column("documents_shown", css_class="col-md-6"))] if "documents_shown" in form.fields else []


def _payment_fields(form) -> list:
    if "payment_amount" not in form.fields:
        return []
    return [
        Row(
            Column("service", css_class="col-md-6"),
            Column("payment_amount", css_class="col-md-3"),
            Column("payment_currency", css_class="col-md-3"),
        )
    ]


class ParticipantAddForm(PaymentAsked, ParticipantForm):
    """One participant added to a scheduled session: the Schedule form's participant row on its own page,
    with the same checks and the same contact autofill, and the payment asked of them."""

    def __init__(self, *args, services: list[Service] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_payment(services)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            "contact_id",
            Row(Column("name"), Column("invite_method"), Column("time_zone")),
            _contact_fields(),
            *_documents_field(self),
            *_payment_fields(self),
        )


class ParticipantEditForm(PaymentAsked, ParticipantForm):
    """How and where a participant hears from us, and their zone. The name belongs to the contact and is
    changed on the contact page, so it is not a field here; neither is the contact link."""

    name = None
    contact_id = None

    def __init__(
        self,
        *args,
        participant: Participant,
        services: list[Service] | None = None,
        payment: Payment | None = None,
        **kwargs,
    ):
        kwargs.setdefault(
            "initial",
            {
                "invite_method": participant.invite_method,
                "email": participant.email,
                "phone": participant.phone or "",
                "time_zone": participant.time_zone,
                "documents_shown": documents_choice_of(participant),
                **payment_initial(payment),
            },
        )
        super().__init__(*args, default_zone=participant.time_zone, **kwargs)
        # What was paid is not rewritten here: a cancel refunds it.
        settled = payment is not None and payment.status not in (Payment.Status.DUE, Payment.Status.CANCELLED)
        self._add_payment(None if settled else services)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            Row(Column("invite_method"), Column("time_zone")),
            _contact_fields(),
            *_documents_field(self),
            *_payment_fields(self),
        )

    def changes(self) -> dict:
        """The keyword arguments of participant_update."""
        data = self.cleaned_data
        return {
            "invite_method": data["invite_method"],
            "email": data.get("email") or "",
            "phone": str(data["phone"]) if data.get("phone") else "",
            "time_zone": data["time_zone"],
            # Left as it is when the question is not asked (no active document) or not answered.
            **(documents_shown_of(data["documents_shown"]) if data.get("documents_shown") else {}),
        }
