"""The care plan editor: a problem > goal > intervention tree beside an edit form.

Keys: arrows or j/k move; enter edits the highlighted item; ``a`` adds a child
(plan -> problem -> goal -> intervention), ``A`` a sibling; ``x`` changes the
status, offering only the moves the rules allow (completing a goal asks how it
ended); delete removes a draft item or marks an item others may have seen
entered-in-error, after a confirm; ``r`` rates a problem (KBS); ctrl+s saves the
form; escape leaves the form (asking first when it holds unsaved changes) and
then the screen. ``n`` starts an empty plan, ``T`` one from a template, ``o``
opens another of the patient's plans, ``h`` shows the history and ``P`` prints
the plan for the patient and family.

Every save is one service call with the plan version this screen read. If
another terminal saved in between, the save is refused with what changed and
by whom; the nurse may reload (dropping the unsaved form) or keep editing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Input, Label, Select, Static, TextArea, Tree

from nursecase.domain.care_plan_rules import (
    CLOSED_PLAN_STATUSES,
    COMPLETION_ACHIEVEMENTS,
    ENTERED_IN_ERROR,
    next_statuses,
    smart_warnings,
    status_words,
)
from nursecase.domain.codes import GoalAchievementStatus
from nursecase.domain.omaha import PROBLEMS
from nursecase.domain.validation import ValidationError
from nursecase.screens import care_plan_views as views
from nursecase.screens.background import run_in_background, user_message
from nursecase.screens.care_plan_forms import EditTarget, form_fields, save_call
from nursecase.screens.care_plan_history import CarePlanHistoryScreen
from nursecase.screens.care_plan_print import print_plan_dialog
from nursecase.screens.choice_picker import Choice, ChoicePicker, Picked
from nursecase.screens.confirm_dialog import ConfirmDialog
from nursecase.screens.form_dialog import FormDialog, FormField, field_value, field_widget
from nursecase.screens.intents import Intent, bindings
from nursecase.screens.workstation import WorkstationScreen
from nursecase.services.errors import StaleEditError
from nursecase.widgets.cut_text import cut_line
from nursecase.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from nursecase.services.care_plans import CarePlanRead

INTENTS = (
    Intent("care_plan.back", "escape", "back", "Back", "Leave the form, then the care plan"),
    Intent("care_plan.edit", "enter", "edit", "Edit", "Edit the highlighted item"),
    Intent("care_plan.save", "ctrl+s", "save", "Save", "Save the form"),
    Intent("care_plan.add_child", "a", "add_child", "Add", "Add a child to the highlighted item"),
    Intent("care_plan.add_sibling", "A", "add_sibling", "Sibling", "Add an item beside this one"),
    Intent("care_plan.status", "x", "change_status", "Status", "Change the status"),
    Intent(
        "care_plan.delete",
        "delete",
        "delete_item",
        "Delete",
        "Remove a draft item, or mark it entered-in-error",
        key_display="del",
    ),
    Intent("care_plan.rate", "r", "rate_problem", "Rate KBS", "Rate the problem (KBS 1-5)"),
    Intent("care_plan.history", "h", "history", "History", "Who changed what and when"),
    Intent("care_plan.new", "n", "new_plan", "New plan", "Start an empty plan", show=False),
    Intent("care_plan.template", "T", "from_template", "Template", "Start a plan from a template"),
    Intent("care_plan.open", "o", "open_plan", "Plans", "Open another plan", show=False),
    Intent("care_plan.print", "P", "print_plan", "Print", "Write the plan for the patient"),
    Intent("care_plan.reload", "f5", "reload", "Reload", "Read the plan again", show=False),
)

#: What ``a`` adds under each kind of item.
CHILD_KIND = {"plan": "problem", "goal": "intervention"}
#: Actions that change the plan: refused while the form is open or the plan is closed.
EDITING_ACTIONS = {"add_child", "add_sibling", "change_status", "delete_item", "rate_problem"}
PLAN_ACTIONS = {"history", "print_plan", "open_plan"}


class PlanTree(Tree):
    """The plan's tree; enter edits (it does not fold), j/k move like the arrows."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="care_plan.tree_down"),
        Binding("k", "cursor_up", "Up", show=False, id="care_plan.tree_up"),
    ]

    def render_label(self, node, base_style: Style, style: Style) -> Text:
        """The node's line cut at a word to the room beside its guides (never mid-word).

        Textual crops a line too long for the tree at its edge; here it ends
        with "…" after a whole word instead (the details pane shows it whole).
        """
        label = super().render_label(node, base_style, style)
        depth, parent = 0, node.parent
        while parent is not None:
            depth, parent = depth + 1, parent.parent
        room = self.scrollable_content_region.width - depth * self.guide_depth
        return cut_line(label, room) if room > 0 else label


class CarePlanEditorScreen(WorkstationScreen, Screen):
    """One patient's care plan, edited with the patient and family."""

    CSS_PATH = "care_plan_editor.tcss"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)
    AUTO_FOCUS = "#plan-tree"

    def __init__(self, patient_id: int, patient_name: str) -> None:
        super().__init__()
        self.patient_id = patient_id
        self.patient_name = patient_name
        self.plans: list[CarePlanRead] = []
        self.plan: CarePlanRead | None = None
        self.team: list = []
        self.editing: EditTarget | None = None
        self.form_widgets: dict = {}
        self.form_fields: dict[str, FormField] = {}
        self.form_title = Text("")
        self.saving = False
        self.keep_cursor: tuple | None = None

    # --- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """The plan line, tree and form side by side, the footer."""
        yield Header()
        yield Static("Loading…", id="plan-line")
        with Horizontal(id="plan-body"):
            tree = PlanTree(Text("Loading…"), id="plan-tree")
            tree.auto_expand = False
            tree.guide_depth = 3
            yield tree
            with Vertical(id="plan-side"):
                with VerticalScroll(id="item-details"):
                    yield Static("", id="details-body")
                with VerticalScroll(id="item-form"):
                    yield Label("", id="form-title")
                    yield Vertical(id="form-fields")
                    yield Static("", id="form-warnings")
                    yield Static("", id="form-error")
                    yield Static("ctrl+s save · esc close the form", id="form-keys")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read the patient's plans."""
        self.sub_title = f"Care plan · {self.patient_name}"
        self.query_one("#item-form").display = False
        self._load()

    @property
    def plan_tree(self) -> PlanTree:
        """The plan tree."""
        return self.query_one("#plan-tree", PlanTree)

    # --- loading ------------------------------------------------------------

    def _load(self, plan_id: int | None = None) -> None:
        services = self.services
        patient_id = self.patient_id

        def read():
            return services.care_plans.for_patient(patient_id), services.care_team.list_for_patient(
                patient_id
            )

        run_in_background(self, read, lambda result: self._loaded(result, plan_id))

    def _loaded(self, result, plan_id: int | None) -> None:
        plans, team = result
        self.plans, self.team = plans, team
        chosen = None
        if plan_id is not None:
            chosen = next((plan for plan in plans if plan.id == plan_id), None)
        if chosen is None:
            # The plan being worked on: the newest one still open, else the newest.
            open_plans = [plan for plan in plans if plan.status not in CLOSED_PLAN_STATUSES]
            newest_first = open_plans or plans
            chosen = newest_first[0] if newest_first else None
        self._show(chosen)

    def _show(self, plan) -> None:
        """Draw ``plan`` (or the empty state), keeping the cursor on the same item."""
        self.plan = plan
        if plan is not None:
            self.plans = [plan if known.id == plan.id else known for known in self.plans]
            if all(known.id != plan.id for known in self.plans):
                self.plans.insert(0, plan)
        cursor = self.keep_cursor or self._cursor_key()
        self.keep_cursor = None
        self._build_tree(cursor)
        self._update_plan_line()
        self._show_details()
        self.refresh_bindings()

    def _update_plan_line(self) -> None:
        plan = self.plan
        line = Text()
        if plan is None:
            line.append("No care plan yet. ", style="bold")
            line.append("n starts an empty plan · T starts one from a template")
        else:
            line.append_text(views.plan_label(plan))
            line.append(
                f"   saved {plan.updated_at:%d %b %H:%M} by {plan.updated_by_name or 'unknown'}",
                style="dim",
            )
            if len(self.plans) > 1:
                line.append(f"   · {len(self.plans)} plans (o)", style="dim")
            if plan.status in CLOSED_PLAN_STATUSES:
                line.append(f"   {plan.status}: read only", style="bold yellow")
        self.query_one("#plan-line", Static).update(line)

    def _build_tree(self, cursor: tuple | None) -> None:
        tree = self.plan_tree
        plan = self.plan
        today = self.services.clock.today()
        tree.clear()
        if plan is None:
            tree.reset(Text("No care plan yet", style="dim"), ("none", None))
            return
        tree.reset(views.plan_label(plan), ("plan", plan.id))
        target_node = tree.root
        for problem in plan.problems:
            problem_node = tree.root.add(
                views.problem_label(problem), ("problem", problem.id), expand=True
            )
            if cursor == ("problem", problem.id):
                target_node = problem_node
            by_goal: dict[int | None, list] = {}
            for intervention in problem.interventions:
                by_goal.setdefault(intervention.goal_id, []).append(intervention)
            for goal in problem.goals:
                goal_node = problem_node.add(
                    views.goal_label(goal, today), ("goal", goal.id), expand=True
                )
                if cursor == ("goal", goal.id):
                    target_node = goal_node
                for intervention in by_goal.get(goal.id, []):
                    node = goal_node.add_leaf(
                        views.intervention_label(intervention, today),
                        ("intervention", intervention.id),
                    )
                    if cursor == ("intervention", intervention.id):
                        target_node = node
            for intervention in by_goal.get(None, []):
                node = problem_node.add_leaf(
                    views.intervention_label(intervention, today),
                    ("intervention", intervention.id),
                )
                if cursor == ("intervention", intervention.id):
                    target_node = node
        tree.root.expand()
        # Every node is expanded, so a node's line is its place in a walk of
        # the tree. Setting the line (not move_cursor, which reads a line
        # number the tree computes only when it next draws) puts the cursor
        # there now, so the details beside it match at once.
        lines = list(_walk(tree.root))
        tree.cursor_line = lines.index(target_node)

    def _cursor_key(self) -> tuple | None:
        # The footer asks check_action (and so this) whenever the bindings may
        # have changed, also while the screen is composed or taken down, when
        # the tree is not (or no longer) there: then nothing is highlighted.
        tree = next(iter(self.query("#plan-tree").results(PlanTree)), None)
        node = None if tree is None else tree.cursor_node
        return None if node is None else node.data

    # --- what is highlighted --------------------------------------------------

    def _selected(self) -> tuple[str, Any]:
        """(kind, read model) of the highlighted item; ("none", None) without a plan.

        The kind names the read model: "plan" a CarePlanRead, "problem",
        "goal" and "intervention" the plan's items of that kind.
        """
        data = self._cursor_key()
        plan = self.plan
        if plan is None or data is None or data[0] == "none":
            return "none", None
        kind, item_id = data
        if kind == "plan":
            return "plan", plan
        for problem in plan.problems:
            if kind == "problem" and problem.id == item_id:
                return kind, problem
            for goal in problem.goals:
                if kind == "goal" and goal.id == item_id:
                    return kind, goal
            for intervention in problem.interventions:
                if kind == "intervention" and intervention.id == item_id:
                    return kind, intervention
        return "none", None

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted) -> None:
        """Show the highlighted item's details."""
        event.stop()
        if self.editing is None:
            self._show_details()
            self.refresh_bindings()

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        """Enter on an item edits it."""
        event.stop()
        self.action_edit()

    def _show_details(self) -> None:
        kind, item = self._selected()
        plan = self.plan
        if kind == "plan":
            body = views.plan_details(plan)
        elif kind == "problem":
            body = views.problem_details(item)
        elif kind == "goal":
            body = views.goal_details(item)
        elif kind == "intervention":
            body = views.intervention_details(item, plan)
        else:
            body = Text("Start a plan: n for an empty one, T from a template.", style="dim")
        self.query_one("#details-body", Static).update(body)

    # --- the form -------------------------------------------------------------

    def action_edit(self) -> None:
        """Open the form on the highlighted item."""
        kind, item = self._selected()
        if kind == "none" or self.editing is not None or not self._plan_is_open():
            return
        if _status_of(kind, item) == ENTERED_IN_ERROR:
            self.notify("This item was entered in error; it can no longer be edited.")
            return
        problem_id = getattr(item, "problem_id", None) if kind != "problem" else item.id
        self._open_form(EditTarget(kind, item.id, problem_id=problem_id), item)

    def _open_form(self, target: EditTarget, item) -> None:
        if self.plan is None:
            return  # nothing to edit: the callers check that a plan is open
        fields = form_fields(target, self.plan, item, self.team)
        initial = {field.name: field.value for field in fields}
        self.editing = EditTarget(
            target.kind,
            target.item_id,
            target.problem_id,
            target.goal_id,
            target.omaha_code,
            target.free_text,
            initial,
        )
        container = self.query_one("#form-fields", Vertical)
        container.remove_children()
        # Kept by name: the values are read from these objects, which works
        # before the mount has finished (a query would not find them yet).
        self.form_widgets = {field.name: field_widget(field) for field in fields}
        self.form_fields = {field.name: field for field in fields}
        mounting = container.mount_all(
            Horizontal(
                Label(field.label, classes="form-label"),
                self.form_widgets[field.name],
                classes="form-row",
            )
            for field in fields
        )
        verb = "New" if target.is_new else "Edit"
        # The title is written once the first field has the focus (see
        # _focus_first_field): what the nurse sees is ready for typing.
        self.query_one("#form-title", Label).update("")
        self.form_title = Text(f"{verb} {target.kind}", style="bold")
        self.query_one("#form-error", Static).update("")
        self.query_one("#item-details").display = False
        self.query_one("#item-form").display = True
        self.plan_tree.disabled = True
        self._update_warnings()

        # Focus only once the fields are mounted: a field focused earlier is
        # skipped by Textual, and the nurse's first keys would go elsewhere.
        async def focus_when_mounted() -> None:
            await mounting
            self._focus_first_field()

        self.call_later(focus_when_mounted)
        self.refresh_bindings()

    def _focus_first_field(self) -> None:
        if self.form_widgets:
            first = next(iter(self.form_widgets.values()))
            # Screen.set_focus acts now (Widget.focus waits for the app's queue):
            # the first key after the title shows must find the field focused.
            self.set_focus(first)
            self.query_one("#form-title", Label).update(self.form_title)
            if isinstance(first, TextArea):
                # Typing goes on after the words already there, not before them.
                first.move_cursor(first.document.end)

    def form_values(self) -> dict[str, str]:
        """What the form holds now, by field name."""
        if self.editing is None:
            return {}
        return {name: field_value(widget) for name, widget in self.form_widgets.items()}

    def has_unsaved_changes(self) -> bool:
        """Whether the open form differs from what it started with (a new item always counts
        once anything was typed)."""
        if self.editing is None:
            return False
        return self.form_values() != self.editing.initial

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a field moves to the next one; ctrl+s saves."""
        event.stop()
        self.focus_next()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Keep the SMART check current while a goal is typed."""
        self._update_warnings()

    def on_select_changed(self, event: Select.Changed) -> None:
        """Picking an Omaha problem names a blank problem after it."""
        if self.editing is None or self.editing.kind != "problem":
            return
        if event.select.id == "field-omaha_code" and event.value:
            description = self.form_widgets["description"]
            if not description.value.strip():
                code = str(event.value)
                description.value = next(p.name for p in PROBLEMS if p.code == code)

    def _update_warnings(self) -> None:
        text = Text()
        if self.editing is not None and self.editing.kind == "goal":
            values = self.form_values()
            for warning in smart_warnings(_GoalDraft(values)):
                text.append(f"⚠ {warning} (saving is still allowed)\n", style="yellow")
        self.query_one("#form-warnings", Static).update(text)

    def action_save(self) -> None:
        """Save the form: one service call with the version this screen read."""
        if self.editing is None or self.saving or self.plan is None:
            return
        target = self.editing
        values = self.form_values()
        if not target.is_new and values == target.initial:
            self._close_form()
            return
        self.saving = True
        self.query_one("#form-error", Static).update("")
        call = save_call(self.services.care_plans, self.plan, target, values)
        run_in_background(self, call, self._saved, self._save_failed, group="care-plan")

    def _saved(self, result) -> None:
        self.saving = False
        plan = getattr(result, "plan", result)
        item_id = getattr(result, "item_id", None)
        target = self.editing
        kind = "Item"
        if target is not None:
            kind = target.kind.capitalize()
            self.keep_cursor = (target.kind, item_id if item_id is not None else target.item_id)
            if target.kind == "plan":
                self.keep_cursor = ("plan", plan.id)
        self._close_form(redraw=False)
        self._show(plan)
        self.notify(f"{kind} saved", timeout=2)

    def _save_failed(self, error: BaseException) -> None:
        self.saving = False
        if _is_stale(error):
            self._offer_reload(error)
            return
        self.query_one("#form-error", Static).update(Text(user_message(error), style="red"))
        if isinstance(error, ValidationError):
            widget = self.form_widgets.get(error.field)
            if widget is not None:
                widget.focus()

    def _close_form(self, redraw: bool = True) -> None:
        self.editing = None
        self.form_widgets = {}
        self.query_one("#form-fields", Vertical).remove_children()
        self.query_one("#item-form").display = False
        self.query_one("#item-details").display = True
        self.plan_tree.disabled = False
        self.plan_tree.focus()
        if redraw:
            self._build_tree(self.keep_cursor or self._cursor_key())
            self.keep_cursor = None
            self._show_details()
        self.refresh_bindings()

    def action_back(self) -> None:
        """Close the form (asking first about unsaved changes), else leave the plan."""
        if self.editing is None:
            self.dismiss()
            return
        if not self.has_unsaved_changes():
            self._close_form()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self._close_form()

        what = "this new item" if self.editing.is_new else f"this {self.editing.kind}"
        self.app.push_screen(
            ConfirmDialog(
                f"Discard your unsaved changes to {what}?",
                yes="discard them",
                no="keep editing",
            ),
            answered,
        )

    # --- stale copies ---------------------------------------------------------

    def _offer_reload(self, error: BaseException) -> None:
        def answered(reload: bool | None) -> None:
            if reload:
                if self.editing is not None:
                    self._close_form(redraw=False)
                self.action_reload()

        self.app.push_screen(
            ConfirmDialog(
                f"Not saved. {error}",
                yes="reload the plan (your unsaved form is dropped)",
                no="keep editing (copy what you typed first)",
            ),
            answered,
        )

    def action_reload(self) -> None:
        """Read the plan again from the database."""
        self.keep_cursor = self._cursor_key()
        self._load(None if self.plan is None else self.plan.id)

    # --- adding ---------------------------------------------------------------

    def action_add_child(self) -> None:
        """Add under the highlighted item: plan -> problem -> goal -> intervention."""
        kind, item = self._selected()
        if kind == "none":
            self.action_new_plan()
        elif kind == "plan":
            self._pick_problem()
        elif kind == "problem":
            self._ask_goal_or_intervention(item)
        elif kind == "goal":
            self._new_item(EditTarget("intervention", problem_id=item.problem_id, goal_id=item.id))
        else:
            self.notify("An intervention has no children: A adds another one beside it.")

    def action_add_sibling(self) -> None:
        """Add an item of the same kind beside the highlighted one."""
        kind, item = self._selected()
        if kind == "problem":
            self._pick_problem()
        elif kind == "goal":
            self._new_item(EditTarget("goal", problem_id=item.problem_id))
        elif kind == "intervention":
            self._new_item(
                EditTarget("intervention", problem_id=item.problem_id, goal_id=item.goal_id)
            )
        elif kind == "plan":
            self.notify("The plan has no siblings: a adds a problem, n starts another plan.")
        else:
            self.action_new_plan()

    def _ask_goal_or_intervention(self, problem) -> None:
        def picked(answer: Picked | None) -> None:
            if answer is None or answer.value is None:  # cancelled (no free text here)
                return
            self._new_item(EditTarget(answer.value, problem_id=problem.id))

        self.app.push_screen(
            ChoicePicker(
                f"Add to {problem.description}",
                [
                    Choice("Goal", "goal", "The patient will ..."),
                    Choice("Intervention", "intervention", "for the whole problem"),
                ],
            ),
            picked,
        )

    def _pick_problem(self) -> None:
        def picked(answer: Picked | None) -> None:
            if answer is None:
                return
            if answer.value is not None:
                self._new_item(EditTarget("problem", omaha_code=answer.value))
            else:
                self._new_item(EditTarget("problem", free_text=answer.text))

        self.app.push_screen(
            ChoicePicker(
                "Add a problem",
                [Choice(problem.name, problem.code, problem.domain) for problem in PROBLEMS],
                intro="The 42 Omaha System problems. Type to filter; or keep what you typed "
                "as a free-text problem.",
                filterable=True,
                free_text_label="Free-text problem",
            ),
            picked,
        )

    def _new_item(self, target: EditTarget) -> None:
        if not self._plan_is_open():
            return
        self._open_form(target, None)

    # --- status, delete, rating ---------------------------------------------

    def action_change_status(self) -> None:
        """Offer the status moves the rules allow for the highlighted item."""
        kind, item = self._selected()
        if kind == "none":
            return
        current = _status_of(kind, item)
        moves = next_statuses(kind, current)
        now = status_words(kind, current).lower()
        if not moves:
            self.notify(f"This {kind} is {now}: its status cannot change.")
            return

        def picked(answer: Picked | None) -> None:
            if answer is None or answer.value is None:  # cancelled (no free text here)
                return
            if kind == "goal" and answer.value == "completed":
                self._ask_achievement(item)
            else:
                self._set_status(kind, item, answer.value)

        self.app.push_screen(
            ChoicePicker(
                f"Status of this {kind}: now {now}",
                [Choice(status_words(kind, status), status) for status in moves],
            ),
            picked,
        )

    def _ask_achievement(self, goal) -> None:
        def picked(answer: Picked | None) -> None:
            if answer is not None:
                self._set_status("goal", goal, "completed", answer.value)

        self.app.push_screen(
            ChoicePicker(
                "How did the goal end?",
                [
                    Choice(GoalAchievementStatus(code).label, code)
                    for code in COMPLETION_ACHIEVEMENTS
                ],
                intro=goal.description,
            ),
            picked,
        )

    def _set_status(self, kind: str, item, status: str, achievement: str | None = None) -> None:
        if self.plan is None:
            return  # check_action offers a status change only with a plan
        care_plans = self.services.care_plans
        version = self.plan.version
        if kind == "plan":
            call = lambda: care_plans.set_status(item.id, version, status)  # noqa: E731
        elif kind == "problem":
            call = lambda: care_plans.update_problem(item.id, version, status=status)  # noqa: E731
        elif kind == "goal":
            extra = {} if achievement is None else {"achievement_status": achievement}

            def call():
                return care_plans.update_goal(item.id, version, lifecycle_status=status, **extra)
        else:
            call = lambda: care_plans.update_intervention(item.id, version, status=status)  # noqa: E731
        self._run_change(call, (kind, item.id), f"Status: {status}")

    def action_delete_item(self) -> None:
        """Remove a draft item, or mark an item entered-in-error, after a confirm."""
        kind, item = self._selected()
        if kind == "none" or self.plan is None:
            return
        draft = self.plan.status == "draft"
        if kind == "plan":
            question = (
                "Delete this draft plan and everything in it?"
                if draft
                else "Mark this whole plan entered-in-error? It stays on record, read only."
            )
        elif draft:
            question = f"Remove this {kind} from the draft plan?"
        else:
            question = f"Mark this {kind} entered-in-error? It stays on record, struck out" + (
                ", with its goals and interventions." if kind == "problem" else "."
            )
        care_plans = self.services.care_plans
        version = self.plan.version

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if kind == "plan":
                self._run_change(
                    lambda: care_plans.remove_plan(item.id, version), None, "Plan removed"
                )
            else:
                self._run_change(
                    lambda: care_plans.remove_item(kind, item.id, version),
                    None if draft else (kind, item.id),
                    "Removed" if draft else "Marked entered-in-error",
                )

        self.app.push_screen(ConfirmDialog(question, yes="yes", no="no"), answered)

    def action_rate_problem(self) -> None:
        """Record today's (or another day's) KBS rating of the highlighted problem."""
        kind, item = self._selected()
        if kind != "problem":
            self.notify("Highlight a problem to rate it (Knowledge, Behavior, Status 1-5).")
            return
        latest = item.ratings[-1] if item.ratings else None
        scale = tuple((str(number), str(number)) for number in range(1, 6))

        def default(name: str) -> str:
            return str(getattr(latest, name)) if latest else ""

        if self.plan is None:
            return  # check_action offers a rating only with a plan
        care_plans = self.services.care_plans
        version = self.plan.version
        today = self.services.clock.today()

        def submit(values: dict[str, str]):
            for name in ("knowledge", "behavior", "status"):
                if not values[name]:
                    raise ValidationError(name, "is required (1-5)")
            return care_plans.rate_problem(
                item.id,
                values["rated_on"],
                int(values["knowledge"]),
                int(values["behavior"]),
                int(values["status"]),
                version,
            )

        dialog = FormDialog(
            f"KBS rating: {item.description}",
            [
                FormField("rated_on", "Rated on", value=today.isoformat()),
                FormField("knowledge", "Knowledge", "choice", default("knowledge"), choices=scale),
                FormField("behavior", "Behavior", "choice", default("behavior"), choices=scale),
                FormField("status", "Status", "choice", default("status"), choices=scale),
            ],
            submit,
            intro="Knowledge 1 none … 5 superior · Behavior 1 not appropriate … 5 consistently "
            "appropriate · Status 1 extreme signs/symptoms … 5 none",
        )

        def done(result) -> None:
            if result is not None:
                self.keep_cursor = ("problem", item.id)
                self._show(result.plan)
                self.notify("Rating saved", timeout=2)

        self.app.push_screen(dialog, done)

    def _run_change(self, call, cursor: tuple | None, message: str) -> None:
        def done(plan) -> None:
            self.keep_cursor = cursor
            if plan is None:  # a draft plan was deleted
                self.plan = None
                self._load()
            else:
                self._show(plan)
            self.notify(message, timeout=2)

        def failed(error: BaseException) -> None:
            if _is_stale(error):
                self._offer_reload(error)
            else:
                self.notify(user_message(error), severity="error", timeout=8)

        run_in_background(self, call, done, failed, group="care-plan")

    # --- plans ----------------------------------------------------------------

    def action_new_plan(self) -> None:
        """Start an empty draft plan."""
        care_plans = self.services.care_plans
        patient_id = self.patient_id
        self._run_change(
            lambda: care_plans.create(patient_id), ("plan", None), "New draft plan started"
        )

    def action_from_template(self) -> None:
        """Pick a template and start a draft plan from it."""
        care_plans = self.services.care_plans
        run_in_background(self, care_plans.templates, self._pick_template)

    def _pick_template(self, catalog) -> None:
        if not catalog.templates:
            self.notify("No templates could be read. " + " ".join(catalog.errors), severity="error")
            return
        intro = "Starts a new draft plan; goals start as proposed, to agree with the patient."
        if catalog.errors:
            intro += "\nNot loaded: " + "; ".join(catalog.errors)

        def picked(answer: Picked | None) -> None:
            if answer is None:
                return
            template = catalog.get(answer.value)
            care_plans = self.services.care_plans
            patient_id = self.patient_id
            self._run_change(
                lambda: care_plans.create_from_template(patient_id, template),
                ("plan", None),
                f"Draft plan started from {template.name}",
            )

        self.app.push_screen(
            ChoicePicker(
                "Start a plan from a template",
                [
                    Choice(template.name, template.key, template.description)
                    for template in catalog.templates
                ],
                intro=intro,
            ),
            picked,
        )

    def action_open_plan(self) -> None:
        """Open another of the patient's plans."""
        if len(self.plans) < 2:
            self.notify("This is the patient's only plan.")
            return

        def picked(answer: Picked | None) -> None:
            if answer is not None:
                plan = next(plan for plan in self.plans if str(plan.id) == answer.value)
                self.keep_cursor = ("plan", plan.id)
                self._show(plan)

        self.app.push_screen(
            ChoicePicker(
                "Open a plan",
                [
                    Choice(
                        f"{plan.title} · {plan.status}",
                        str(plan.id),
                        f"since {plan.period_start or plan.updated_at.date()}",
                    )
                    for plan in self.plans
                ],
                highlighted=str(self.plan.id) if self.plan else None,
            ),
            picked,
        )

    def action_history(self) -> None:
        """Who changed what, and when."""
        if self.plan is not None:  # check_action offers the history only with a plan
            self.app.push_screen(CarePlanHistoryScreen(self.plan.id, self.plan.title))

    def action_print_plan(self) -> None:
        """Write the plan for the patient and family (Markdown or PDF)."""
        self.app.push_screen(
            print_plan_dialog(self.services, self.workstation.settings, self.plan), self._printed
        )

    def _printed(self, path) -> None:
        if path is not None:
            self.notify(f"Plan written to {path}", timeout=6)

    # --- which keys apply -------------------------------------------------------

    def _plan_is_open(self) -> bool:
        return self.plan is not None and self.plan.status not in CLOSED_PLAN_STATUSES

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out what does not apply: edits while the form is open or the plan closed."""
        if action == "save":
            return self.editing is not None
        if action == "edit":
            return self.editing is None and self._plan_is_open()
        if action in ("new_plan", "from_template", "open_plan"):
            return self.editing is None
        if action in PLAN_ACTIONS:
            return self.plan is not None and self.editing is None
        if action in EDITING_ACTIONS:
            if self.editing is not None or self.plan is None:
                return False
            if action == "rate_problem":
                kind, _item = self._selected()
                return kind == "problem" and self._plan_is_open()
            if action == "delete_item":
                return self._selected()[0] != "none"
            return self._plan_is_open() or action == "change_status"
        return True


class _GoalDraft:
    """The goal form's values in the shape ``smart_warnings`` reads."""

    def __init__(self, values: dict[str, str]) -> None:
        self.target_measure = values.get("target_measure", "")
        self.target_value = values.get("target_value", "")
        due = values.get("due_date", "").strip()
        self.due_date = due or None


def _walk(node):
    """The node and everything under it, in the order the tree draws them."""
    yield node
    for child in node.children:
        yield from _walk(child)


def _status_of(kind: str, item) -> str:
    if kind == "goal":
        return item.lifecycle_status
    return item.status


def _is_stale(error: BaseException) -> bool:
    return isinstance(error, StaleEditError)


__all__ = ["CarePlanEditorScreen"]
