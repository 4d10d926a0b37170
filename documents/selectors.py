"""Which documents a participant is asked to fill, and what is still missing: the one place the
documents-shown rule is written (the way in, the dashboard's warnings and the host's pages all read it)."""

from django.db.models import Prefetch

from documents.models import Document, DocumentField, Submission
from sessions_app.models import DocumentsShown, Participant


def documents_shown_to(participant: Participant) -> list[Document]:
    """The active documents shown to this participant, in the order they fill them, fields prefetched."""
    fields = Prefetch("fields", queryset=DocumentField.objects.order_by("position", "id"))
    if participant.documents_shown == DocumentsShown.NONE:
        return []
    if participant.documents_shown == DocumentsShown.PACKET:
        if participant.documents_packet_id is None:
            return []
        return list(
            Document.objects.filter(
                is_active=True,
                packet_entries__packet_id=participant.documents_packet_id,
                organization_id=participant.session.organization_id,
            )
            .order_by("packet_entries__position", "id")
            .prefetch_related(fields)
        )
    return list(
        Document.objects.filter(is_active=True, organization_id=participant.session.organization_id)
        .order_by("title", "id")
        .prefetch_related(fields)
    )


def submissions_of(participant: Participant) -> dict[int, Submission]:
    """The participant's submissions (drafts included), by document id."""
    return {s.document_id: s for s in Submission.objects.filter(participant=participant)}


def required_documents_missing(participant: Participant) -> list[Document]:
    """Required documents shown to the participant and not yet submitted: they block entering."""
    submitted = set(
        Submission.objects.filter(participant=participant, status=Submission.Status.SUBMITTED).values_list(
            "document_id", flat=True
        )
    )
    return [d for d in documents_shown_to(participant) if d.is_required and d.pk not in submitted]
