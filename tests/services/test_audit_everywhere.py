"""Every change made through the services leaves an AuditEvent, in a valid chain.

The list below drives one call of every mutating service method; a second test
fails when a new public method appears that is neither listed here nor a read,
so a change can never slip past the audit trail unnoticed.
"""

from __future__ import annotations

import inspect
import tempfile
import typing
from datetime import date, datetime
from pathlib import Path

from nursecase.services import Services

READ_PREFIXES = (
    "get",
    "list",
    "count",
    "current",
    "for_patient",
    "open_",
    "latest",
    "trend",
    "history",
    "histories",
    "organisations",
    "recent_organisations",
    "queue",
    "details",
    "has_passwords",
    "stuck_",
    "turnaround",
    "minutes_in",
    "verify",
    "last_page",
    "today",
    "next_due_date",
    "summary",
    "snoozes",
    "flags_",
    "load",
    "templates",
    "document",
)


def _is_read(name: str) -> bool:
    return name.startswith(READ_PREFIXES) or name == "sign_in"


def _calls(services: Services):
    """(service, method, call) for every mutation, in an order that makes sense."""
    state: dict[str, object] = {}

    def patient():
        state["patient"] = services.patients.create(
            "MRN-A1", "Okafor", "Grace", birth_date=date(1950, 3, 2), risk_tier="high"
        )

    def patient_id() -> int:
        return state["patient"].id

    def version() -> int:
        return services.patients.get(patient_id()).version

    def contact():
        state["contact"] = services.contacts.log(
            patient_id(), datetime(2026, 11, 26, 10), "phone", "patient", "reached", 15
        )

    def plan():
        state["plan"] = services.care_plans.create(patient_id())

    def template_plan():
        from nursecase.services.care_plan_templates import load_templates

        template = load_templates().get("copd")
        state["template_plan"] = services.care_plans.create_from_template(patient_id(), template)

    def plan_version() -> int:
        return services.care_plans.get(state["plan"].id).version

    def problem():
        change = services.care_plans.add_problem(
            state["plan"].id, plan_version(), omaha_code="medication-regimen"
        )
        state["problem"] = change.item_id

    def goal():
        change = services.care_plans.add_goal(
            state["problem"],
            plan_version(),
            "The patient will take every dose as prescribed",
            target_measure="doses taken",
            target_value="100%",
            due_date=date(2026, 12, 31),
        )
        state["goal"] = change.item_id

    def intervention():
        change = services.care_plans.add_intervention(
            state["problem"], plan_version(), "teaching-guidance-counseling", "Teach pill box use"
        )
        state["intervention"] = change.item_id

    def referral():
        state["referral"] = services.referrals.create(
            patient_id(), "physical-therapy", "Valley PT", "Gait training after fall"
        )

    def task():
        state["task"] = services.tasks.add(patient_id(), "Call pharmacy", date(2026, 11, 28))

    def assessment():
        state["assessment"] = services.assessments.record(
            patient_id(), "phq-2", {"item1": 1, "item2": 1}
        )

    def condition():
        state["condition"] = services.conditions.add(
            patient_id(), "Heart failure", code="I50.9", code_system="icd-10"
        )

    def medication():
        state["medication"] = services.medications.add(patient_id(), "Furosemide", dose="40 mg")

    def contact_item():
        from nursecase.domain.worklist import DueItem, DueKind

        return DueItem(DueKind.contact, date(2026, 11, 27), "", None)

    def worklist_done():
        state["undo"] = services.worklist.done(patient_id(), contact_item())

    def worklist_snooze():
        state["undo"] = services.worklist.snooze(
            patient_id(), contact_item(), date(2026, 12, 2), "patient away"
        )

    def open_alert_id() -> int:
        return services.readings.alerts(patient_id(), open_only=True)[0].id

    def close_alert_on_today():
        from nursecase.domain.worklist import DueKind

        [row] = [row for row in services.worklist.today(None) if row.patient_id == patient_id()]
        item = next(item for item in row.items if item.kind is DueKind.reading)
        return services.worklist.close_alert(patient_id(), item, "called: BP 150/90 on recheck")

    def enrol():
        state["enrolment"] = services.readings.enrol(patient_id(), "weight", "daily")

    def member():
        state["member"] = services.care_team.add(patient_id(), "Dr. Ngata", "pcp")

    return [
        ("nurses", "create", lambda: services.nurses.create("bobr", "Bob Reyes", "RN")),
        ("patients", "create", patient),
        (
            "patients",
            "update",
            lambda: services.patients.update(patient_id(), version(), phone="5035550101"),
        ),
        (
            "patients",
            "change_risk_tier",
            lambda: services.patients.change_risk_tier(
                patient_id(), "moderate", "stable for 3 months", version()
            ),
        ),
        (
            "patients",
            "set_next_contact_due",
            lambda: services.patients.set_next_contact_due(patient_id(), date(2026, 12, 3)),
        ),
        ("patients", "record_view", lambda: services.patients.record_view(patient_id())),
        ("chart", "open", lambda: services.chart.open(patient_id())),
        (
            "episodes",
            "change_status",
            lambda: services.episodes.change_status(
                services.episodes.current(patient_id()).id, "onhold", "in hospital"
            ),
        ),
        ("episodes", "start", None),  # a patient has one open episode; covered in test_episodes
        # Writes a file: tests/services/test_screenshots.py checks its two events.
        ("screenshots", "save", None),
        # Accounts need an admin signed in with a password, not alice:
        # tests/services/test_accounts.py checks each one writes its event.
        ("accounts", "add", None),
        ("accounts", "change_password", None),
        ("accounts", "disable", None),
        ("accounts", "verify_login", None),
        ("accounts", "pause_after_refusal", None),  # only waits: writes nothing
        ("contacts", "log", contact),
        ("contacts", "update", lambda: services.contacts.update(state["contact"].id, minutes=20)),
        ("contacts", "delete", lambda: services.contacts.delete(state["contact"].id)),
        ("conditions", "add", condition),
        (
            "conditions",
            "update",
            lambda: services.conditions.update(state["condition"].id, clinical_status="remission"),
        ),
        ("conditions", "delete", lambda: services.conditions.delete(state["condition"].id)),
        ("medications", "add", medication),
        (
            "medications",
            "update",
            lambda: services.medications.update(state["medication"].id, dose="20 mg"),
        ),
        ("medications", "reconcile", lambda: services.medications.reconcile(patient_id())),
        ("medications", "delete", lambda: services.medications.delete(state["medication"].id)),
        ("care_team", "add", member),
        (
            "care_team",
            "update",
            lambda: services.care_team.update(state["member"].id, phone="5035550199"),
        ),
        ("care_team", "delete", lambda: services.care_team.delete(state["member"].id)),
        (
            "transitions",
            "record_discharge",
            lambda: services.transitions.record_discharge(patient_id(), date(2026, 11, 2)),
        ),
        # The 2 Nov discharge's contact (due 4 Nov) and visit (due 16 Nov) lapsed.
        ("transitions", "close_lapsed_today", lambda: services.transitions.close_lapsed_today()),
        # A readmission discharged on 9 Nov: its contact (due 11 Nov) and visit lapsed too.
        (
            "transitions",
            "record_discharge",
            lambda: services.transitions.record_discharge(patient_id(), date(2026, 11, 9)),
        ),
        ("transitions", "close_lapsed", lambda: services.transitions.close_lapsed()),
        (
            "transitions",
            "record_discharge",
            lambda: services.transitions.record_discharge(patient_id(), date(2026, 11, 25)),
        ),
        ("tasks", "add", task),
        (
            "tasks",
            "snooze",
            lambda: services.tasks.snooze(state["task"].id, date(2026, 12, 1), "patient away"),
        ),
        ("tasks", "complete", lambda: services.tasks.complete(state["task"].id)),
        ("tasks", "reopen", lambda: services.tasks.reopen(state["task"].id)),
        ("tasks", "reassign", lambda: services.tasks.reassign(state["task"].id, "bobr")),
        ("tasks", "cancel", lambda: services.tasks.cancel(state["task"].id, "duplicate")),
        ("worklist", "done", worklist_done),
        ("worklist", "undo", lambda: services.worklist.undo(state["undo"])),
        ("worklist", "snooze", worklist_snooze),
        ("assessments", "record", assessment),
        (
            "safety_checks",
            "record",
            lambda: services.safety_checks.record(
                patient_id(),
                {"wish_dead": True, "suicidal_thoughts": False, "behaviour": False},
                "safety-plan-reviewed",
            ),
        ),
        (
            "assessments",
            "record_lace",
            lambda: state.update(
                lace=services.assessments.record_lace(patient_id(), 5, True, 2, 1)
            ),
        ),
        (
            "patients",
            "set_risk_from_score",
            lambda: services.patients.set_risk_from_score(
                patient_id(), state["lace"].assessment.id, version()
            ),
        ),
        (
            "patients",
            "set_ccm_enrolment",
            lambda: services.patients.set_ccm_enrolment(
                patient_id(), "standard", date(2026, 11, 1), version()
            ),
        ),
        (
            "assessments",
            "delete",
            lambda: services.assessments.delete(state["assessment"].assessment.id),
        ),
        ("care_plans", "create", plan),
        (
            "care_plans",
            "update_plan",
            lambda: services.care_plans.update_plan(
                state["plan"].id, plan_version(), title="Medication plan"
            ),
        ),
        ("care_plans", "create_from_template", template_plan),
        (
            "care_plans",
            "remove_plan",
            lambda: services.care_plans.remove_plan(
                state["template_plan"].id,
                services.care_plans.get(state["template_plan"].id).version,
            ),
        ),
        ("care_plans", "add_problem", problem),
        (
            "care_plans",
            "update_problem",
            lambda: services.care_plans.update_problem(
                state["problem"], plan_version(), priority="high-priority"
            ),
        ),
        (
            "care_plans",
            "rate_problem",
            lambda: services.care_plans.rate_problem(state["problem"], date(2026, 11, 27), 2, 3, 3),
        ),
        ("care_plans", "add_goal", goal),
        (
            "care_plans",
            "update_goal",
            lambda: services.care_plans.update_goal(
                state["goal"], plan_version(), lifecycle_status="active"
            ),
        ),
        ("care_plans", "add_intervention", intervention),
        (
            "care_plans",
            "update_intervention",
            lambda: services.care_plans.update_intervention(
                state["intervention"], plan_version(), status="in-progress"
            ),
        ),
        (
            "care_plans",
            "set_status",
            lambda: services.care_plans.set_status(state["plan"].id, plan_version(), "active"),
        ),
        (
            "care_plans",
            "remove_item",
            lambda: services.care_plans.remove_item(
                "intervention", state["intervention"], plan_version()
            ),
        ),
        (
            "care_plan_printer",
            "write",
            lambda: services.care_plan_printer.write(
                state["plan"].id, "markdown", Path(tempfile.mkdtemp()) / "plan.md"
            ),
        ),
        ("referrals", "create", referral),
        (
            "referrals",
            "log_follow_up",
            lambda: services.referrals.log_follow_up(
                state["referral"].id, state["referral"].version, "left-message", 4
            ),
        ),
        (
            "referrals",
            "transition",
            lambda: services.referrals.transition(
                state["referral"].id,
                "accepted",
                services.referrals.get(state["referral"].id).version,
            ),
        ),
        # Readings (issue 20): a keyed reading past its limit opens an alert; Today
        # closes it with a note and undo reopens it; a note closes it for good.
        (
            "readings",
            "key",
            lambda: services.readings.key(
                patient_id(), {"systolic": (184, "mm[Hg]"), "diastolic": (121, "mm[Hg]")}
            ),
        ),
        ("worklist", "close_alert", lambda: state.update(undo=close_alert_on_today())),
        ("worklist", "undo", lambda: services.worklist.undo(state["undo"])),
        # Runs inside worklist.undo (its caller's transaction): the undo above.
        ("readings", "reopen_closed_by_note", None),
        (
            "readings",
            "close_with_note",
            lambda: services.readings.close_with_note(open_alert_id(), "seen in clinic"),
        ),
        # Runs inside contacts.log (tests/services/test_worklist_readings.py checks it).
        ("readings", "close_with_contact", None),
        # Runs inside an import's transaction: tests/services/test_readings.py.
        ("readings", "store", None),
        (
            "readings",
            "set_limit",
            lambda: services.readings.set_limit(patient_id(), "oxygen-low", 88, "COPD retainer"),
        ),
        (
            "readings",
            "clear_limit",
            lambda: services.readings.clear_limit(patient_id(), "oxygen-low"),
        ),
        ("readings", "enrol", enrol),
        (
            "readings",
            "end_enrolment",
            lambda: services.readings.end_enrolment(state["enrolment"].id),
        ),
        # Reads.
        ("readings", "alerts", None),
        ("readings", "limits", None),
        ("readings", "series", None),
        ("readings", "enrolments", None),
        ("readings", "month", None),
        ("accounts", "lock", lambda: services.accounts.lock()),
        ("accounts", "unlock", lambda: services.accounts.unlock(None)),
        ("patients", "delete", lambda: services.patients.delete(patient_id())),
    ]


def test_every_mutation_writes_an_audit_event(services):
    for service_name, method, call in _calls(services):
        if call is None:
            continue
        before = services.audit.count()
        call()
        after = services.audit.count()
        assert after > before, f"{service_name}.{method} wrote no audit event"
        newest = services.audit.list_events(limit=1)[0]
        assert newest.nurse_username == "alice"
    assert services.audit.verify_chain() is None


def test_every_public_mutation_is_covered_by_the_list_above(services):
    covered = {(service, method) for service, method, _ in _calls(services)}
    for name, service_class in typing.get_type_hints(Services).items():
        if name in ("context", "audit"):
            continue
        for method, _ in inspect.getmembers(service_class, inspect.isfunction):
            if method.startswith("_") or _is_read(method):
                continue
            assert (name, method) in covered, f"{name}.{method} is not checked for auditing"
