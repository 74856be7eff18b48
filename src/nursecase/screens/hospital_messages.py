"""Hospital messages: the ADT messages waiting for a nurse, oldest first (issue 21, item 2).

A message from the hospital's feed that names no patient nursecase knows (or
an identifier that is a patient's with another birth date), and a message
that could not be read, wait here; nothing is dropped silently. Each row says
when it came, the event in words, the name, birth date and identifier the
hospital sent, the facility, when the event happened and why it waits; the
pane below says the same of the highlighted message in full sentences.

``m`` (or enter) matches the highlighted message to a patient chosen in the
patient picker, whose matches show their birth dates to compare with the
hospital's: the service applies it and every later message with the same
identifier, and keeps the identifier so the hospital's next messages find her.
``x`` dismisses a message with a reason (required). ``escape`` goes back.
All reads and writes go through ``services.adt`` in workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from nursecase.domain.codes import AdtMessageStatus
from nursecase.domain.wording import cut_at_word
from nursecase.screens.background import run_in_background
from nursecase.screens.form_dialog import FormDialog, FormField
from nursecase.screens.formatting import shown
from nursecase.screens.intents import Intent, bindings
from nursecase.screens.referral_dialogs import PatientPicker
from nursecase.screens.workstation import WorkstationScreen
from nursecase.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from nursecase.services.adt_inbox import UnmatchedMessage

INTENTS = (
    Intent(
        "hospital.match",
        "m",
        "match",
        "Match",
        "Match the message to a patient (enter does too): it and every later message"
        " with the same identifier are applied",
    ),
    Intent(
        "hospital.dismiss",
        "x",
        "dismiss_message",
        "Dismiss",
        "Set the message aside with a reason (not our patient, a test message)",
    ),
    Intent("hospital.back", "escape", "back", "Back", "Back to where you were"),
    Intent("hospital.refresh", "f5", "refresh", "Refresh", "Read the waiting messages again"),
    Intent("hospital.down", "j", "cursor(1)", "Down", "Next message", show=False),
    Intent("hospital.up", "k", "cursor(-1)", "Up", "Previous message", show=False),
)

#: Shown when nothing waits.
NOTHING_WAITS = "No hospital messages are waiting."
#: What an unreadable message says it is when the hospital's event is unknown.
UNREADABLE = "Unreadable message"
#: Written where the hospital sent nothing.
NOT_SENT = "-"

#: The patient picker's room for a line of its title (its box is 76 wide).
PICKER_TITLE_WIDTH = 70

#: Cells the table keeps beside the columns: a vertical scrollbar and one space each side.
SCROLLBAR_WIDTH = 2
CELL_PADDING = 1
#: The narrowest a free-text column gets on a narrow terminal.
NARROWEST_TEXT_COLUMN = 8

#: (key, heading, free text?): free-text columns share the width the others leave,
#: the name last (it keeps what the facility and the reason leave).
COLUMNS = (
    ("received", "Received", False),
    ("event", "Event", False),
    ("name", "Name sent", True),
    ("born", "Born", False),
    ("identifier", "ID sent", False),
    ("facility", "Facility", True),
    ("when", "Event at", False),
    ("why", "Waiting because", True),
)
#: The order in which the free-text columns take their share.
FREE_TEXT_ORDER = ("facility", "why", "name")

#: The inbox's reasons (``services.adt_inbox``) in a few words for the table; the
#: pane below gives the whole sentence. A reason not listed shows as it is.
SHORT_REASONS = {
    "no patient with this identifier": "Unknown identifier",
    "the identifier is a patient's with another birth date": "Birth date differs",
}


def moment_words(moment: datetime | None) -> str:
    """ "25 Nov 10:15", or "-" when the hospital sent no time."""
    return NOT_SENT if moment is None else f"{moment:%d %b %H:%M}"


def birth_words(born: date | None) -> str:
    """ "30 Nov 1956", or "-" when the hospital sent no birth date."""
    return NOT_SENT if born is None else f"{born:%d %b %Y}"


def name_words(message: UnmatchedMessage) -> str:
    """ "Okonkwo-Berg, Beatrix" as the hospital sent it, or "-"."""
    parts = [part for part in (message.family_name, message.given_name) if part]
    return shown(", ".join(parts)) if parts else NOT_SENT


def event_of(message: UnmatchedMessage) -> str:
    """The event in words; a message that could not be read says so."""
    if message.status is AdtMessageStatus.error and message.event is None:
        return UNREADABLE
    return message.event_words


def why_words(message: UnmatchedMessage, short: bool = False) -> str:
    """Why the message waits: "No patient with this identifier" ("Unknown identifier" short)."""
    reason = shown(message.reason or "")
    if short and reason in SHORT_REASONS:
        return SHORT_REASONS[reason]
    if message.status is AdtMessageStatus.error:
        reason = f"could not be read: {reason}" if reason else "could not be read"
    if not reason:
        return NOT_SENT
    return reason[0].upper() + reason[1:]


def event_time_words(message: UnmatchedMessage) -> str:
    """When the event happened: "16:20" on the day the message came, else "25 Nov 22:15"."""
    when = message.when
    if when is not None and when.date() == message.received_at.date():
        return f"{when:%H:%M}"
    return moment_words(when)


def row_cells(message: UnmatchedMessage) -> tuple[Text, ...]:
    """The table's cells for one message, whole (``fitted`` cuts them to the columns)."""
    error = message.status is AdtMessageStatus.error
    return (
        Text(moment_words(message.received_at)),
        Text(event_of(message), style="red" if error else ""),
        Text(name_words(message)),
        Text(birth_words(message.birth_date)),
        Text(shown(message.identifier or NOT_SENT)),
        Text(shown(message.facility or NOT_SENT)),
        Text(event_time_words(message)),
        Text(why_words(message, short=True), style="red" if error else "yellow"),
    )


def column_widths(rows: Sequence[Sequence[Text]], available: int) -> list[int]:
    """Each column's width: the short columns keep their widest cell, free text shares the rest.

    The free-text columns, in ``FREE_TEXT_ORDER``, keep their widest cell while
    it is within an even share of the room left; the last (the name the
    hospital sent) takes what remains, so it is cut last.
    """
    widths = [len(heading) for _key, heading, _free in COLUMNS]
    for cells in rows:
        for index, cell in enumerate(cells):
            widths[index] = max(widths[index], cell.cell_len)
    keys = [key for key, _heading, _free in COLUMNS]
    free = [keys.index(key) for key in FREE_TEXT_ORDER]
    room = available - sum(width for index, width in enumerate(widths) if index not in free)
    left = room
    for position, index in enumerate(free):
        share = max(NARROWEST_TEXT_COLUMN, left // (len(free) - position))
        if position == len(free) - 1:
            widths[index] = max(NARROWEST_TEXT_COLUMN, left)
        else:
            widths[index] = min(widths[index], share)
        left -= widths[index]
    return widths


def fitted(cells: Sequence[Text], widths: Sequence[int]) -> tuple[Text, ...]:
    """The cells cut to their columns at a word, with "…", never in the middle of a word."""
    return tuple(
        Text(cut_at_word(cell.plain, width), style=cell.style) if cell.cell_len > width else cell
        for cell, width in zip(cells, widths, strict=True)
    )


def detail_pane(message: UnmatchedMessage) -> Text:
    """The highlighted message in full sentences, and what the keys do with it."""
    pane = Text()
    pane.append(event_of(message), style="bold")
    if message.facility:
        pane.append(f" at {shown(message.facility)}")
    if message.when is not None:
        pane.append(f", {message.when:%d %b %Y %H:%M}")
    pane.append(f" · received {message.received_at:%d %b %Y %H:%M}\n", style="dim")
    sent = name_words(message)
    pane.append("The hospital sent: ")
    pane.append(sent if sent != NOT_SENT else "no name")
    born = birth_words(message.birth_date)
    pane.append(f", born {born}" if born != NOT_SENT else ", no birth date")
    identifier = shown(message.identifier) if message.identifier else "no identifier"
    pane.append(f", identifier {identifier}\n")
    pane.append("Waiting because: ")
    error = message.status is AdtMessageStatus.error
    pane.append(why_words(message), style="red" if error else "")
    pane.append("\n\n")
    if message.status is AdtMessageStatus.unmatched:
        pane.append(
            "m or enter: match to a patient (compare the birth dates); this message and every"
            " later one with the same identifier are applied. x: dismiss with a reason.",
            style="dim",
        )
    else:
        pane.append(
            "A message that could not be read cannot be matched: ask the hospital's interface"
            " team to send it again, then dismiss this one (x) with a reason.",
            style="dim",
        )
    return pane


def status_words(messages: Sequence[UnmatchedMessage]) -> str:
    """The line under the table: how many wait, how many could not be read."""
    if not messages:
        return NOTHING_WAITS
    count = len(messages)
    line = f"{count} hospital message{'s' if count != 1 else ''} waiting"
    errors = sum(message.status is AdtMessageStatus.error for message in messages)
    if errors:
        line += f" ({errors} could not be read)"
    return line + " · oldest first"


def matched_words(patient_name: str, applied: int) -> str:
    """ "Matched to Lindqvist, Harold: 2 messages applied"."""
    noun = "message" if applied == 1 else "messages"
    return f"Matched to {patient_name}: {applied} {noun} applied"


class HospitalMessagesScreen(WorkstationScreen, Screen):
    """The hospital's messages that wait for a nurse to match or dismiss them."""

    CSS_PATH = "hospital_messages.tcss"
    AUTO_FOCUS = "#messages"
    INTENTS = INTENTS
    BINDINGS = bindings(INTENTS)

    def __init__(self) -> None:
        super().__init__()
        self.messages: dict[str, UnmatchedMessage] = {}
        self.listed: list[UnmatchedMessage] = []

    def compose(self) -> ComposeResult:
        """Title, table, detail pane, status line."""
        yield Header()
        yield Static(Text("Hospital messages waiting for a nurse", style="bold"), id="title")
        table: DataTable[Text] = DataTable(
            id="messages", cursor_type="row", zebra_stripes=True, cell_padding=CELL_PADDING
        )
        yield table
        with VerticalScroll(id="message-detail-scroll"):
            yield Static("", id="message-detail")
        yield Static("", id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Read what waits."""
        self.query_one("#messages", DataTable).focus()
        self.action_refresh()

    # -------------------------------------------------------------- loading

    def action_refresh(self) -> None:
        """Read the waiting messages again."""
        adt = self.services.adt
        run_in_background(self, adt.waiting, self._show, group="hospital", exclusive=True)

    def on_resize(self) -> None:
        """A wider or narrower terminal: share the new width among the columns."""
        if self.is_mounted and self.listed:
            self._show(self.listed)

    def _show(self, messages: list[UnmatchedMessage]) -> None:
        self.listed = messages
        table = self.query_one("#messages", DataTable)
        keep = self._highlighted_key()
        row = table.cursor_row
        rows = [(str(message.id), row_cells(message)) for message in messages]
        self.messages = {str(message.id): message for message in messages}
        width = table.size.width or self.size.width or self.app.size.width
        room = width - SCROLLBAR_WIDTH - 2 * CELL_PADDING * len(COLUMNS)
        widths = column_widths([cells for _key, cells in rows], room)
        table.clear(columns=True)
        for (key, heading, _free), column_width in zip(COLUMNS, widths, strict=True):
            table.add_column(heading, key=key, width=column_width)
        for key, cells in rows:
            table.add_row(*fitted(cells, widths), key=key)
        self.query_one("#status", Static).update(Text(status_words(messages)))
        if not rows:
            self.query_one("#message-detail", Static).update(Text(NOTHING_WAITS))
            self.refresh_bindings()
            return
        if keep in self.messages:
            table.move_cursor(row=table.get_row_index(keep))
        else:
            table.move_cursor(row=min(row, table.row_count - 1))
        self._show_detail()

    def _highlighted_key(self) -> str | None:
        table = self.query_one("#messages", DataTable)
        if not table.row_count:
            return None
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return row_key.value

    def highlighted(self) -> UnmatchedMessage | None:
        """The message under the cursor, or None."""
        return self.messages.get(self._highlighted_key() or "")

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        """Show the highlighted message in full below the table."""
        self._show_detail()

    def _show_detail(self) -> None:
        message = self.highlighted()
        if message is not None:
            self.query_one("#message-detail", Static).update(detail_pane(message))
        self.refresh_bindings()

    # -------------------------------------------------------------- actions

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        """Enter matches, as m does."""
        self.action_match()

    def action_match(self) -> None:
        """Pick the patient the highlighted message is about; apply it and its followers."""
        message = self.highlighted()
        if message is None:
            return
        if message.status is not AdtMessageStatus.unmatched:
            self.notify(
                "A message that could not be read cannot be matched; dismiss it (x) with a reason.",
                severity="warning",
            )
            return
        born = birth_words(message.birth_date)
        sent = f"The hospital sent {name_words(message)}, born {born}"
        title = f"Match to which patient?\n{cut_at_word(sent, PICKER_TITLE_WIDTH)}"

        def chosen(answer: tuple[int, str] | None) -> None:
            if answer is None:
                return
            patient_id, patient_name = answer
            adt = self.services.adt
            run_in_background(
                self,
                lambda: adt.match(message.id, patient_id),
                lambda applied: self._after(matched_words(patient_name, applied)),
            )

        self.app.push_screen(PatientPicker(self.services, title=title), chosen)

    def action_dismiss_message(self) -> None:
        """Ask why, then set the highlighted message aside."""
        message = self.highlighted()
        if message is None:
            return
        adt = self.services.adt
        fields = [
            FormField(
                "reason",
                "Reason (required)",
                placeholder="e.g. not our patient; a test message",
            )
        ]

        def submit(values: dict[str, str]) -> int:
            adt.dismiss(message.id, values["reason"])
            return message.id

        title = f"Dismiss: {event_of(message)} for {name_words(message)}"
        self.app.push_screen(
            FormDialog(title, fields, submit, submit_label="Dismiss"),
            lambda result: self._after("Message dismissed") if result is not None else None,
        )

    def _after(self, words: str) -> None:
        self.notify(words)
        self.action_refresh()

    def action_cursor(self, step: int) -> None:
        """j and k move like the arrows."""
        table = self.query_one("#messages", DataTable)
        (table.action_cursor_down if step > 0 else table.action_cursor_up)()

    def action_back(self) -> None:
        """Back to the screen beneath."""
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Match only an unmatched message; dismiss any waiting one."""
        if action in ("match", "dismiss_message", "cursor"):
            message = self.messages.get(self._key_or_none())
            if message is None:
                return False
            if action == "match":
                return message.status is AdtMessageStatus.unmatched
        return True

    def _key_or_none(self) -> str:
        # Called for every key on every footer refresh: no DOM query when nothing is listed.
        if not self.messages:
            return ""
        return self._highlighted_key() or ""
