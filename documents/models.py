"""E-documents: the organisation's forms (intake, consent), grouped in packets, shown to participants and
filled on their way into a session."""

from django.core.validators import MaxLengthValidator
from django.db import models

from accounts.models import Organization

# What a participant may type into one answer, and a document's instructions: bounded so a submission stays
# a form, not a file store.
MAX_SHORT_TEXT = 300
MAX_LONG_TEXT = 10_000


class Document(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True, validators=[MaxLengthValidator(MAX_LONG_TEXT)])
    is_active = models.BooleanField(default=True)
    # A required document must be submitted before its participant may enter the session.
    is_required = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title


class DocumentField(models.Model):
    class Kind(models.TextChoices):
        SHORT_TEXT = "short_text", "Short text"
        LONG_TEXT = "long_text", "Long text"
        SINGLE_CHOICE = "single_choice", "Single choice"
        MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
        DATE = "date", "Date"
        YES_NO = "yes_no", "Yes / no"
        CONSENT = "consent", "Consent checkbox"
        SIGNATURE = "signature", "Signature (typed full name)"
        FILE = "file", "File upload (PDF or image)"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="fields")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    label = models.CharField(max_length=300)
    help_text = models.CharField(max_length=500, blank=True)
    # The options of a single or multiple choice, in order.
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class Packet(models.Model):
    """Documents shown together (a first-visit intake packet)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="packets")
    name = models.CharField(max_length=200)
    documents = models.ManyToManyField(Document, through="PacketDocument", related_name="packets")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PacketDocument(models.Model):
    packet = models.ForeignKey(Packet, on_delete=models.CASCADE, related_name="entries")
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="packet_entries")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["packet", "document"], name="packet_document_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.packet}: {self.document}"


class Submission(models.Model):
    """One participant's answers to one document: a draft until submitted, read-only after."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="submissions")
    participant = models.ForeignKey(
        "sessions_app.Participant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="submissions",
    )
    # Submissions follow the person: the contact page shows their earlier intake forms.
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="submissions")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # {str(field pk): value}; the field's label and kind are copied in `snapshot` at submission, so a document
    # edited later does not change what was answered.
    answers = models.JSONField(default=dict, blank=True)
    snapshot = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # A signature is a typed full name, kept with when and from which address it was given.
    signed_name = models.CharField(max_length=150, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signed_from = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "document"],
                condition=models.Q(participant__isnull=False),
                name="submission_one_per_participant_document",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document} ({self.get_status_display()})"


def _upload_path(instance: "SubmissionFile", filename: str) -> str:
    # The stored name is random: the participant's file name is kept only as data, never as a path.
    return f"documents/{instance.submission.organization_id}/{instance.token}"


class SubmissionFile(models.Model):
    """A file uploaded for a file field: stored outside static/, served only through a permission check."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    field = models.ForeignKey(DocumentField, null=True, on_delete=models.SET_NULL, related_name="+")
    token = models.CharField(max_length=64, unique=True)
    file = models.FileField(upload_to=_upload_path)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.original_name
