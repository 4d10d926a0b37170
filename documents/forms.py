"""The editor's forms, and the form a participant fills (also the editor's preview).

The forms collect what was typed; the services decide what is allowed (documents.services and
documents.answers), so a rule is written once and holds for every caller.
"""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Div, Layout, Row
from django import forms

from documents.answers import UPLOAD_KINDS, YES_NO
from documents.models import MAX_LONG_TEXT, MAX_SHORT_TEXT, Document, DocumentField, Submission

Kind = DocumentField.Kind


def _helper(*layout) -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    if layout:
        helper.layout = Layout(*layout)
    return helper


class DocumentForm(forms.Form):
    title = forms.CharField(max_length=200)
    instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_LONG_TEXT}),
        help_text="Shown above the fields.",
    )
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="Only active documents are shown to participants.",
    )
    is_required = forms.BooleanField(
        label="Required",
        required=False,
        help_text="Participants must submit it before they can enter their session.",
    )

    def __init__(self, *args, document: Document | None = None, **kwargs):
        if document is not None:
            kwargs.setdefault(
                "initial",
                {
                    "title": document.title,
                    "instructions": document.instructions,
                    "is_active": document.is_active,
                    "is_required": document.is_required,
                },
            )
        super().__init__(*args, **kwargs)
        self.helper = _helper("title", "instructions", Row(Column("is_active"), Column("is_required")))


class DocumentFieldForm(forms.Form):
    kind = forms.ChoiceField(choices=Kind.choices, initial=Kind.SHORT_TEXT)
    label = forms.CharField(max_length=300)
    help_text = forms.CharField(max_length=500, required=False)
    # data-choices-for: static/js/document_editor.js shows the options only for the choice kinds.
    choices = forms.CharField(
        label="Options",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For single and multiple choice: one option per line.",
    )
    required = forms.BooleanField(required=False)

    def __init__(self, *args, field: DocumentField | None = None, **kwargs):
        if field is not None:
            kwargs.setdefault(
                "initial",
                {
                    "kind": field.kind,
                    "label": field.label,
                    "help_text": field.help_text,
                    "choices": "\n".join(field.choices),
                    "required": field.required,
                },
            )
        super().__init__(*args, **kwargs)
        self.helper = _helper(
            Row(Column("kind", css_class="col-md-4"), Column("label", css_class="col-md-8")),
            "help_text",
            Div("choices", data_choices_for="single_choice multiple_choice"),
            "required",
        )

    def values(self) -> dict:
        """The keyword arguments of document_field_add and document_field_update."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "label": data["label"],
            "help_text": data.get("help_text") or "",
            "choices": (data.get("choices") or "").splitlines(),
            "required": data.get("required", False),
        }


class PacketForm(forms.Form):
    """A packet's name, and the documents it holds in order: each document gets an order number, or none
    to be left out, so the order is chosen without drag-and-drop."""

    name = forms.CharField(max_length=200)

    def __init__(self, *args, documents: list[Document], entries: list[int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        positions = {pk: i + 1 for i, pk in enumerate(entries or [])}
        self.documents = documents
        for document in documents:
            label = document.title if document.is_active else f"{document.title} (inactive)"
            self.fields[f"document_{document.pk}"] = forms.IntegerField(
                label=label,
                required=False,
                min_value=1,
                max_value=len(documents),
                initial=positions.get(document.pk),
                widget=forms.NumberInput(attrs={"class": "form-control", "placeholder": "–"}),
            )
        self.helper = _helper()

    @property
    def document_fields(self):
        return [self[f"document_{d.pk}"] for d in self.documents]

    def document_ids(self) -> list[int]:
        """The chosen documents by their order numbers (ties by title)."""
        chosen = [
            (self.cleaned_data[f"document_{d.pk}"], index, d.pk)
            for index, d in enumerate(self.documents)
            if self.cleaned_data.get(f"document_{d.pk}") is not None
        ]
        return [pk for _order, _index, pk in sorted(chosen)]


class _AnyList(forms.Field):
    """The ticked boxes as they were sent; the service checks them against the field's options."""

    def to_python(self, value):
        if not value:
            return []
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def fill_field_name(field: DocumentField) -> str:
    return f"field_{field.pk}"


def _form_field(field: DocumentField) -> forms.Field:
    options = {"label": field.label, "required": False, "help_text": field.help_text}
    choices = [(c, c) for c in field.choices]
    if field.kind == Kind.SHORT_TEXT:
        return forms.CharField(widget=forms.TextInput(attrs={"maxlength": MAX_SHORT_TEXT}), **options)
    if field.kind == Kind.LONG_TEXT:
        return forms.CharField(
            widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_LONG_TEXT}), **options
        )
    if field.kind == Kind.SIGNATURE:
        options["help_text"] = field.help_text or "Type your full name: it stands for your signature."
        return forms.CharField(widget=forms.TextInput(attrs={"autocomplete": "name"}), **options)
    if field.kind == Kind.SINGLE_CHOICE:
        return forms.CharField(widget=forms.RadioSelect(choices=choices), **options)
    if field.kind == Kind.MULTIPLE_CHOICE:
        return _AnyList(widget=forms.CheckboxSelectMultiple(choices=choices), **options)
    if field.kind == Kind.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **options)
    if field.kind == Kind.YES_NO:
        return forms.CharField(widget=forms.RadioSelect(choices=list(YES_NO.items())), **options)
    if field.kind == Kind.CONSENT:
        return forms.BooleanField(**options)
    options["help_text"] = field.help_text or f"Send {UPLOAD_KINDS}."
    return forms.FileField(
        widget=forms.FileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}), **options
    )


class DocumentFillForm(forms.Form):
    """One document's fields, filled with the draft's answers. Disabled, it is the editor's preview."""

    def __init__(
        self,
        *args,
        fields: list[DocumentField],
        submission: Submission | None = None,
        disabled: bool = False,
        **kwargs,
    ):
        answers = submission.answers if submission is not None else {}
        kwargs.setdefault("initial", {})
        for field in fields:
            value = answers.get(str(field.pk))
            if value is not None and field.kind != Kind.FILE:
                kwargs["initial"][fill_field_name(field)] = value
        super().__init__(*args, **kwargs)
        self.document_fields = fields
        self.has_required = any(field.required for field in fields)
        for field in fields:
            form_field = _form_field(field)
            form_field.disabled = disabled
            if field.required:
                form_field.label = f"{field.label} *"
            value = answers.get(str(field.pk))
            if field.kind == Kind.FILE and isinstance(value, dict):
                form_field.help_text = f"Sent: {value.get('name', '')}. Choose another file to replace it."
            self.fields[fill_field_name(field)] = form_field
        self.helper = _helper()

    def answers(self) -> tuple[dict, dict]:
        """(answers, files) keyed by the field's id as text, for the submission services."""
        answers, files = {}, {}
        for field in self.document_fields:
            value = self.cleaned_data.get(fill_field_name(field))
            if field.kind == Kind.FILE:
                if value:
                    files[str(field.pk)] = value
            elif value not in (None, ""):
                answers[str(field.pk)] = value
        return answers, files

    def aliases(self) -> dict[str, str]:
        """The services name a field by its id; the form by fill_field_name."""
        return {str(field.pk): fill_field_name(field) for field in self.document_fields}
