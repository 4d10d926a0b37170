"""Which documents a participant is asked to fill, and what is still missing: the one place the
documents-shown rule is written (the way in, the dashboard's warnings and the host's pages all read it)."""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, prefetch_related_objects

from documents.models import Document, DocumentField, Packet, PacketDocument, Submission, SubmissionFile
from sessions_app.models import DocumentsShown, Participant


def documents_shown_to(participant: Participant) -> list[Document]:
    """The active documents shown to this participant, in the order they fill them, fields prefetched."""
    return documents_shown_to_each([participant])[participant.pk]


def documents_shown_to_each(
    participants: list[Participant], *, with_fields: bool = True
) -> dict[int, list[Document]]:
    """documents_shown_to for many participants at once (by participant id), in a fixed number of queries
    however many there are: all the active documents of their organisations (in title order), or their
    packet's active documents (in the packet's order), or none."""
    organizations = {
        p.session.organization_id for p in participants if p.documents_shown == DocumentsShown.ALL
    }
    packet_ids = {
        p.documents_packet_id
        for p in participants
        if p.documents_shown == DocumentsShown.PACKET and p.documents_packet_id is not None
    }
    everything: dict[int, list[Document]] = {}
    if organizations:
        documents = Document.objects.filter(is_active=True, organization_id__in=organizations)
        for document in documents.order_by("title", "id"):
            everything.setdefault(document.organization_id, []).append(document)
    in_packet: dict[int, list[Document]] = {}
    if packet_ids:
        entries = PacketDocument.objects.filter(packet_id__in=packet_ids, document__is_active=True)
        for entry in entries.select_related("document").order_by("position", "document_id"):
            in_packet.setdefault(entry.packet_id, []).append(entry.document)
    shown: dict[int, list[Document]] = {}
    for participant in participants:
        organization_id = participant.session.organization_id
        if participant.documents_shown == DocumentsShown.ALL:
            shown[participant.pk] = everything.get(organization_id, [])
        elif participant.documents_shown == DocumentsShown.PACKET:
            packet = in_packet.get(participant.documents_packet_id, [])
            # A packet names documents by id; only its own organisation's count, whatever a row says.
            shown[participant.pk] = [d for d in packet if d.organization_id == organization_id]
        else:
            shown[participant.pk] = []
    if with_fields:
        fields = Prefetch("fields", queryset=DocumentField.objects.order_by("position", "id"))
        unique = {id(d): d for documents in shown.values() for d in documents}
        prefetch_related_objects(list(unique.values()), fields)
    return shown


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


def _required_unsubmitted(**scope) -> Exists:
    """A required, active document of the participant's organisation (narrowed by `scope`) that the
    participant (the query's outer row) has not submitted.

    Only documents that existed before the session ended count: an organisation that adds its first
    required form must not bring every past session back onto its hosts' dashboards. Before the end this
    is exactly required_documents_missing."""
    submitted = Submission.objects.filter(
        participant_id=OuterRef(OuterRef("pk")),
        document_id=OuterRef("pk"),
        status=Submission.Status.SUBMITTED,
    )
    return Exists(
        Document.objects.filter(
            is_active=True,
            is_required=True,
            organization_id=OuterRef("session__organization_id"),
            created_at__lt=OuterRef("session__end_at"),
            **scope,
        ).filter(~Exists(submitted))
    )


def participants_missing_required_documents() -> Q:
    """required_documents_missing written as SQL, for a Participant queryset: the same documents shown
    (all, or a packet's) and the same "submitted" test, so a list of sessions can be filtered in one query."""
    return (Q(documents_shown=DocumentsShown.ALL) & _required_unsubmitted()) | (
        Q(documents_shown=DocumentsShown.PACKET)
        & _required_unsubmitted(packet_entries__packet_id=OuterRef("documents_packet_id"))
    )


def sessions_with_missing_required_documents(queryset: QuerySet) -> QuerySet:
    """The sessions annotated with `missing_required_documents`: some active participant has not submitted
    a required document shown to them."""
    participants = Participant.objects.active().filter(
        participants_missing_required_documents(), session_id=OuterRef("pk")
    )
    return queryset.annotate(missing_required_documents=Exists(participants))


def required_documents_missing_in(session) -> list[tuple[Participant, list[Document]]]:
    """Who on the session still has to submit which required documents (those that existed before its
    end, as in the SQL rule above), for the pages that warn before a session is cancelled or removed."""
    missing = []
    for participant in session.participants.active().order_by("id"):
        participant.session = session
        documents = [d for d in required_documents_missing(participant) if d.created_at < session.end_at]
        if documents:
            missing.append((participant, documents))
    return missing


# The editor and the host's pages: an organisation's documents, packets and submissions are read by its hosts
# and schedulers, and by nobody else (DESIGN.md rule 4).


def _editing_organization_id(actor) -> int | None:
    if not actor.is_authenticated or actor.organization is None:
        return None
    if not (actor.is_host or actor.is_scheduler):
        return None
    return actor.organization.id


def documents_of(actor) -> QuerySet[Document]:
    """The actor's organisation's documents (active or not), with their numbers of fields and submissions."""
    organization_id = _editing_organization_id(actor)
    if organization_id is None:
        return Document.objects.none()
    return Document.objects.filter(organization_id=organization_id).annotate(
        field_count=Count("fields", distinct=True), submission_count=Count("submissions", distinct=True)
    )


def packets_of(actor) -> QuerySet[Packet]:
    """The actor's organisation's packets, each with its documents in order."""
    organization_id = _editing_organization_id(actor)
    if organization_id is None:
        return Packet.objects.none()
    entries = PacketDocument.objects.select_related("document").order_by("position", "id")
    return Packet.objects.filter(organization_id=organization_id).prefetch_related(
        Prefetch("entries", queryset=entries)
    )


def submissions_readable_by(actor) -> QuerySet[Submission]:
    """The submissions of the actor's organisation, with what their pages show."""
    organization_id = _editing_organization_id(actor)
    if organization_id is None:
        return Submission.objects.none()
    return (
        Submission.objects.filter(organization_id=organization_id)
        .select_related("document", "participant__session__host", "contact")
        .prefetch_related("files")
    )


def submission_files_readable_by(actor) -> QuerySet[SubmissionFile]:
    organization_id = _editing_organization_id(actor)
    if organization_id is None:
        return SubmissionFile.objects.none()
    return SubmissionFile.objects.filter(submission__organization_id=organization_id)


def packets_offered(*, organization_id: int) -> list[Packet] | None:
    """The packets a participant may be shown, or None while the organisation has no active document (then
    nobody is asked which documents to show)."""
    if not Document.objects.filter(organization_id=organization_id, is_active=True).exists():
        return None
    return list(Packet.objects.filter(organization_id=organization_id).order_by("name", "id"))


@dataclass
class DocumentStatus:
    document: Document
    submission: Submission | None
    # False for a document answered earlier and no longer shown (deactivated, or another choice since).
    shown: bool = True

    @property
    def status(self) -> str:
        if self.submission is None:
            return "missing"
        return self.submission.status

    @property
    def missing_required(self) -> bool:
        return self.shown and self.document.is_required and self.status != Submission.Status.SUBMITTED


@dataclass
class ParticipantDocuments:
    participant: Participant
    shown_label: str
    documents: list[DocumentStatus]

    @property
    def missing_required(self) -> int:
        return sum(1 for item in self.documents if item.missing_required)


def _shown_label(participant: Participant, packets: dict[int, Packet]) -> str:
    if participant.documents_shown == DocumentsShown.PACKET:
        packet = packets.get(participant.documents_packet_id)
        return f"Packet “{packet.name}”" if packet else "A deleted packet (no documents)"
    return DocumentsShown(participant.documents_shown).label


def documents_status_for_session(
    session, participants: list[Participant] | None = None
) -> list[ParticipantDocuments]:
    """For the session page: per active participant, the documents shown to them and what they sent (and
    anything they sent for a document no longer shown), in a fixed number of queries however many
    participants there are. Pass the participants when the page has loaded them already. Empty when the
    organisation asks these participants for no documents."""
    if participants is None:
        participants = list(session.participants.active().order_by("id"))
    for participant in participants:
        participant.session = session
    shown = documents_shown_to_each(participants, with_fields=False)
    submissions: dict[int, dict[int, Submission]] = {}
    for submission in Submission.objects.filter(participant__in=participants).select_related("document"):
        submissions.setdefault(submission.participant_id, {})[submission.document_id] = submission
    packet_ids = {p.documents_packet_id for p in participants if p.documents_packet_id is not None}
    packets = {p.pk: p for p in Packet.objects.filter(pk__in=packet_ids)} if packet_ids else {}
    rows = []
    for participant in participants:
        theirs = dict(submissions.get(participant.pk, {}))
        items = [DocumentStatus(d, theirs.pop(d.pk, None)) for d in shown[participant.pk]]
        items += [DocumentStatus(s.document, s, shown=False) for s in theirs.values()]
        rows.append(ParticipantDocuments(participant, _shown_label(participant, packets), items))
    if not any(row.documents for row in rows) and all(
        p.documents_shown == DocumentsShown.ALL for p in participants
    ):
        # The organisation asks for no documents at all: the page has nothing to say about them.
        return []
    return rows
