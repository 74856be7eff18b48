"""``nursecase audit verify|anchor|show``: the audit trail from the shell.

None of these commands changes the database (no upgrade, no event): verify
must report what is there, as it is.

``verify`` prints ``ok: N events verified`` (exit 0) or one line naming the
first bad event and what happened to it: edited, deleted, inserted, truncated,
or a missing/wrong key file (exit 1). Messages hold ids and counts, never PHI.

``anchor --out FILE`` writes an anchor of the trail (newest event, its hash,
the count, checkpoint hashes; no PHI, no key) for a supervisor to keep away
from this computer; ``verify --anchor FILE`` then also checks that the trail
still holds those events hash for hash, which a trail rewritten and resealed
with the key file cannot (see README, "What the audit trail can prove").
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nursecase.cli.runtime import (
    MOST_ROWS,
    CommandError,
    CommandState,
    DbOption,
    chosen_option,
    date_value,
    echo,
    handled,
)

if TYPE_CHECKING:
    from nursecase.services.audit_subjects import EventSubject
    from nursecase.services.context import ServiceContext

audit_app = typer.Typer(help="Check and read the audit trail.", no_args_is_help=True)


def _existing(context: typer.Context, db: str | None) -> CommandState:
    """The state on an existing database (opened without upgrading it)."""
    state = CommandState.of(context, db)
    state.require_existing()
    return state


AnchorFileOption = Annotated[
    Path | None,
    typer.Option(
        "--anchor",
        metavar="FILE",
        help="Also check the trail against an anchor written earlier by `audit anchor`.",
        show_default=False,
    ),
]


@audit_app.command("verify")
@handled()
def audit_verify(
    context: typer.Context, db: DbOption = None, anchor: AnchorFileOption = None
) -> None:
    """Check every audit event's seal and link and the anchor kept beside the database."""
    from nursecase.clock import SystemClock
    from nursecase.services.audit import AuditService
    from nursecase.services.context import ServiceContext

    with _existing(context, db).engine(upgrade=False) as engine:
        report = AuditService(ServiceContext(engine, SystemClock())).verify(
            None if anchor is None else anchor.expanduser()
        )
    if not report.ok:
        raise CommandError(f"the audit trail does not verify: {report.message}")
    echo(report.message)
    for note in report.notes:
        echo(f"note: {note}")


@audit_app.command("anchor")
@handled()
def audit_anchor(
    context: typer.Context,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="FILE",
            help="Where to write the anchor (mode 0600); keep it away from this computer.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
) -> None:
    """Write an anchor of the trail (no PHI, no key) for `audit verify --anchor FILE`."""
    from nursecase.clock import SystemClock
    from nursecase.services.audit import AuditService
    from nursecase.services.context import ServiceContext

    destination = out.expanduser()
    if destination.is_dir() or (destination.exists() and not destination.is_file()):
        raise CommandError(f"--out: {destination} is not a regular file")
    with _existing(context, db).engine(upgrade=False) as engine:
        service = AuditService(ServiceContext(engine, SystemClock()))
        try:
            written = service.write_anchor(destination)
        except OSError as error:
            raise CommandError(f"--out: cannot write {destination}: {error.strerror}") from error
    echo(
        f"Anchored {written.count} events (through event {written.last_id}) in {destination};"
        " keep it away from this computer and check with: nursecase audit verify --anchor FILE"
    )


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)", param_hint="--since"
        ) from None


def _patient_id(service_context: ServiceContext, mrn: str | None) -> int | None:
    """The id of the patient ``--patient`` names; a bad or unknown MRN is refused."""
    from nursecase.domain.validation import ValidationError
    from nursecase.services.patients import PatientService

    if mrn is None:
        return None
    try:
        found = PatientService(service_context).get_by_mrn(mrn)
    except ValidationError as error:
        raise CommandError(f"--patient: {error.message}") from error
    if found is None:
        raise CommandError(f"--patient: no patient with MRN {mrn.strip()}")
    return found.id


@audit_app.command("show")
@handled()
def audit_show(
    context: typer.Context,
    db: DbOption = None,
    patient: Annotated[
        str | None,
        typer.Option("--patient", help="Only this patient's events and their records' (MRN)."),
    ] = None,
    # A filter, not who acts: no NURSECASE_NURSE here (nurse_option is the sign-in).
    nurse: Annotated[
        str | None,
        typer.Option(
            "--nurse", help="Only this nurse's events (username; also before the command)."
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only events from this date (YYYY-MM-DD) on.", callback=date_value
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=MOST_ROWS, help="At most this many events.")
    ] = 200,
) -> None:
    """List audit events, newest first: when, who, what, which record (patients by MRN),
    which fields."""
    from nursecase.clock import SystemClock
    from nursecase.services.audit import AuditService
    from nursecase.services.context import ServiceContext
    from nursecase.services.nurses import NurseService

    start = _since(since)
    # `nursecase --nurse X audit show` filters as `audit show --nurse X` does; the
    # environment's NURSECASE_NURSE says who works here, not whose events to list.
    nurse = chosen_option(context, "nurse", nurse, environment=False)
    with _existing(context, db).engine(upgrade=False) as engine:
        service_context = ServiceContext(engine, SystemClock())
        patient_id = _patient_id(service_context, patient)
        if nurse is not None and NurseService(service_context).get_by_username(nurse) is None:
            # An unknown nurse is refused, not answered with "no audit events match".
            raise CommandError(f"--nurse: no nurse with username '{nurse.strip().lower()}'")
        audit = AuditService(service_context)
        events = audit.list_events(
            limit=limit,
            nurse_username=None if nurse is None else nurse.strip().lower(),
            since=start,
            patient_id=patient_id,
        )
        subjects = audit.subjects(events)
    if not events:
        echo("no audit events match")
        return
    actions = {event.id: action_words(event.action) for event in events}
    width = max(len(words) for words in actions.values())
    for event in events:
        line = (
            f"{event.id:>7}  {event.occurred_at:%Y-%m-%d %H:%M:%S}"
            f"  {event.nurse_username or '-':<12}  {actions[event.id]:<{width}}"
            f"  {record_words(event.entity, event.entity_id, subjects[event.id])}"
        )
        if event.changed_fields:
            line += "  [" + ", ".join(field_words(name) for name in event.changed_fields) + "]"
        echo(line)


def action_words(action: str) -> str:
    """An audit action's label ("Login failed"); a code this version does not know, as stored."""
    from nursecase.domain.codes import AuditAction

    try:
        return AuditAction(action).label
    except ValueError:
        return action


def record_words(entity: str, entity_id: int | None, subject: EventSubject) -> str:
    """Which record an event is about, in words: patients by MRN, never by an internal id.

    "patient MRN-1", "contact 57 of patient MRN-1", "account nina", "export of
    patient MRN-1"; a record deleted since says it is no longer on file.
    """
    from nursecase.services.audit_anchor import KEY_MARKER_ENTITY
    from nursecase.services.audit_subjects import ACCOUNT_ENTITY, PATIENT_ID_ENTITIES

    kind = entity.replace("_", " ").replace("-", " ")
    if entity == KEY_MARKER_ENTITY:
        return "audit key (the trail is sealed from here on)"
    if entity_id is None:
        return kind
    if entity == ACCOUNT_ENTITY:
        return f"account {subject.account}" if subject.account else "an account no longer on file"
    if entity in PATIENT_ID_ENTITIES:
        patient = (
            f"patient {subject.patient_mrn}"
            if subject.patient_mrn
            else "a patient no longer on file"
        )
        return patient if entity == "patient" else f"{kind} of {patient}"
    if subject.on_file is None:
        return f"{kind} {entity_id}"
    if subject.patient_mrn:
        return f"{kind} {entity_id} of patient {subject.patient_mrn}"
    return f"{kind} {entity_id}, no longer on file"


def field_words(name: str) -> str:
    """A changed field as a person reads it: "next contact due"; "to:" paths as written."""
    from urllib.parse import unquote

    if ":" in name:  # a tag with its value ("report:caseload", "to:/backups/x.db")
        return unquote(name)
    return name.replace("_", " ")
