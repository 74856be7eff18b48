"""HL7 v2 ADT messages: reading them, mapping them onto nursecase's facts, acknowledging them.

A hospital's ADT feed (admit, discharge, transfer) sends HL7 version 2 messages
over MLLP; ``nursecase adt listen`` and ``nursecase adt import`` store each one
raw and hand its text here. Nothing here reads the clock, a file or the
database: text in, :class:`AdtFacts` (or an :class:`AdtError` with a reason a
person can read and the acknowledgement code to answer with) out.

Sources (HL7 Version 2.5.1, the version interface engines send most):

- chapter 2, control: the MSH segment, the encoding characters and escape
  sequences (2.7), the original-mode acknowledgement (2.9.2: MSA-1 AA accept,
  AE error, AR reject), the ERR segment and its error codes (table 0357), the
  batch protocol (2.10.3: FHS/BHS ... BTS/FTS around the messages);
- chapter 2A, data types: TS/DTM (``YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]``),
  CX (identifier^^^assigning authority), XPN, PL, HD, CWE;
- chapter 3, patient administration: EVN, PID, PV1, DG1 and the trigger
  events A01 admit, A03 discharge, A04 register, A06 outpatient to inpatient,
  A08 update, A11 cancel admit, A13 cancel discharge.

The ``hl7`` package (python-hl7, BSD) splits a message into segments, fields,
repetitions and components. Three of its helpers are deliberately not used:
``hl7.util.unescape`` and ``hl7.util.split_file`` log field values when they
meet something odd (PHI in a log, DESIGN.md section 4), and
``hl7.parse_datetime`` accepts "2024abc" as 2024 and flips the sign of an
offset such as -0030; the small replacements are below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

import hl7

from nursecase.domain.codes import DischargeDisposition, EncounterClass

#: The trigger events nursecase acts on (issue 21); any other ADT event is read,
#: stored and acknowledged but not applied (the inbox marks it "not acted on").
APPLIED_EVENTS: frozenset[str] = frozenset({"A01", "A03", "A04", "A06", "A08", "A11", "A13"})

#: Acknowledgement codes, HL7 table 0008 (original mode).
#: Each trigger event nursecase reads, in words (the unmatched queue, ``adt status``):
#: HL7 v2.5.1 chapter 3, section 3.3.
EVENT_WORDS: dict[str, str] = {
    "A01": "Admission",
    "A03": "Discharge",
    "A04": "Registration",
    "A06": "Changed to inpatient",
    "A08": "Update",
    "A11": "Admission cancelled",
    "A13": "Discharge cancelled",
}


def event_words(event: str | None) -> str:
    """The event in words; an event nursecase does not act on reads "Other message"."""
    return EVENT_WORDS.get(event or "", "Other message")


ACCEPT = "AA"
ERROR = "AE"
REJECT = "AR"

# HL7 table 0357, message error condition codes (ERR-3), the ones nursecase sends.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT_CODE = "201"
APPLICATION_INTERNAL_ERROR = "207"

#: The words of the table 0357 codes above (ERR-3.2).
ERROR_CODE_TEXT: dict[str, str] = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}


@dataclass(frozen=True)
class MessageHeader:
    """What the MSH segment says, read tolerantly (even from a message whose body is broken).

    Enough to acknowledge the message and to file it in the inbox. Text is
    unescaped; "" where the message sent nothing.
    """

    #: MSH-3 and MSH-4 (their first components) as "APP^FACILITY"; an empty part stays: "^MERCY".
    sender: str
    #: MSH-5 and MSH-6 likewise.
    receiver: str
    #: MSH-10, the sender's message control id (the ACK's MSA-2; a repeat is not applied twice).
    control_id: str
    #: MSH-9.1, "ADT".
    message_type: str
    #: MSH-9.2 ("A01"), else EVN-1; None when neither says.
    event: str | None
    #: MSH-12.1, "2.5.1".
    version: str
    #: MSH-7; None when absent or not a valid time (the header is read tolerantly).
    message_time: datetime | None
    #: MSH-11 as sent ("P"), echoed in the acknowledgement.
    processing_id: str = ""
    #: MSH-3 to MSH-6 whole, as sent (every HD component, escaped, standard
    #: separators): the acknowledgement echoes them swapped. "" when unknown,
    #: then the acknowledgement uses ``sender`` and ``receiver``.
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""


#: The header of a text with no readable MSH: nothing is known.
UNREADABLE_HEADER = MessageHeader(
    sender="",
    receiver="",
    control_id="",
    message_type="",
    event=None,
    version="",
    message_time=None,
)


class AdtError(ValueError):
    """A message nursecase cannot accept.

    ``reason`` is a sentence without PHI (it names fields, never their patient
    values) for the ACK, the inbox and the log; ``ack_code`` is "AR" (rejected:
    not a message nursecase takes) or "AE" (an error in its content).
    ``error_code`` is the HL7 table 0357 code for the ERR segment. ``header``
    is the message's header as far as it could be read (:data:`UNREADABLE_HEADER`
    when nothing could), so every refusal of :func:`read_header` and
    :func:`parse_adt` can be acknowledged from the error alone; None from
    :func:`hl7_time` on its own.
    """

    def __init__(
        self,
        reason: str,
        ack_code: str = ERROR,
        error_code: str = APPLICATION_INTERNAL_ERROR,
        header: MessageHeader | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.ack_code = ack_code
        self.error_code = error_code
        self.header = header

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross a worker boundary: keep every attribute through pickling.
        return (type(self), (self.reason, self.ack_code, self.error_code, self.header))


@dataclass(frozen=True)
class PatientIdentifier:
    """One PID-3 repetition: the identifier (CX.1) and its assigning authority (CX.4.1, or "")."""

    value: str
    authority: str


@dataclass(frozen=True)
class Diagnosis:
    """One DG1 segment's diagnosis (DG1-3, a CE/CWE code^text^coding system)."""

    code: str | None
    #: The coding system as sent ("I10" is ICD-10 in HL7 table 0396).
    system: str | None
    #: DG1-3's text, else DG1-4 (description), else the code.
    display: str


@dataclass(frozen=True)
class AdtFacts:
    """What one ADT message says, in nursecase's words."""

    header: MessageHeader
    #: The trigger event, "A01"; :data:`APPLIED_EVENTS` says which nursecase acts on.
    event: str
    #: Every PID-3 repetition with a value, the first one first.
    identifiers: tuple[PatientIdentifier, ...]
    #: PID-5 (the legal name's repetition when one is marked "L"), shown in the unmatched queue.
    family_name: str | None
    given_name: str | None
    #: PID-7.
    birth_date: date | None
    #: From PV1-2 (HL7 table 0004) and the observation convention: :func:`encounter_class_of`.
    encounter_class: EncounterClass | None
    #: Which visit the message is about: :func:`visit_key_of`.
    visit_key: str
    #: PV1-3.4 (the location's facility), else PV1-39 (servicing facility), else MSH-4, as sent.
    facility: str | None
    #: PV1-44; for A01, A04 and A06 (a visit starting) EVN-6, else EVN-2, when PV1-44 is empty.
    admitted_at: datetime | None
    #: PV1-45.
    discharged_at: datetime | None
    #: PV1-36 mapped: :func:`disposition_of`.
    disposition: DischargeDisposition | None
    #: Every DG1 with a code or a text, in DG1-1 order.
    diagnoses: tuple[Diagnosis, ...]
    #: EVN-6 (when the event happened), else EVN-2 (when it was recorded).
    event_time: datetime | None
    #: True when the message had no PV1-19 visit number and ``visit_key`` is the fallback.
    visit_key_is_fallback: bool = False


# --- HL7 v2 times -------------------------------------------------------------------

# HL7 v2.5.1 chapter 2A, DTM (and TS.1): YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ].
# Each part needs the one before it; more than four fraction digits is accepted
# (some senders write microseconds) and cut to microseconds.
_TIME_PATTERN = re.compile(
    r"(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d+))?)?)?)?)?)?([+-]\d{4})?",
    re.ASCII,  # HL7 digits are 0-9, not every Unicode digit
)


def hl7_time(text: str, field: str, local_zone: tzinfo | None = None) -> datetime | None:
    """An HL7 v2 DTM/TS value as a naive local ``datetime``; None when empty.

    nursecase stores naive local wall time. A time with an offset
    ("20241205103000-0500") is converted to ``local_zone`` when one is given and
    returned naive; without ``local_zone`` it is returned naive as sent (its
    wall time), and so is a time without an offset. Missing parts are the
    start of the period: "20241205" is midnight. ``field`` names the field for
    the error ("PV1-44 admit time"): a value that is not a DTM raises
    :class:`AdtError` AE "PV1-44 admit time is not an HL7 date and time".
    The HL7 null ``""`` (delete the value) reads as empty.
    """
    text = text.strip()
    if not text or text == '""':
        return None
    match = _TIME_PATTERN.fullmatch(text)
    if match is None:
        raise _not_a_time(field)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "")[:6].ljust(6, "0")),
        )
        if offset is None:
            return moment
        offset_hours, offset_minutes = int(offset[1:3]), int(offset[3:5])
        if offset_minutes > 59:
            raise ValueError(offset)
        size = timedelta(hours=offset_hours, minutes=offset_minutes)
        zone = timezone(-size if offset[0] == "-" else size)
        if local_zone is None:
            return moment
        return moment.replace(tzinfo=zone).astimezone(local_zone).replace(tzinfo=None)
    except (ValueError, OverflowError):
        # Month 13, 31 February, hour 24, an offset of a day or more, a year
        # that leaves the calendar when moved to local time.
        raise _not_a_time(field) from None


def _not_a_time(field: str) -> AdtError:
    return AdtError(f"{field} is not an HL7 date and time", ERROR, DATA_TYPE_ERROR)


# --- Text, segments, fields ---------------------------------------------------------

#: MLLP framing (start block VT, end block FS) and a byte-order mark, dropped wherever found.
_NOT_TEXT = str.maketrans("", "", "\x0b\x1c\ufeff")
_LINE_END = re.compile(r"[\r\n]+")
#: The batch protocol's envelope segments (HL7 v2.5.1 section 2.10.3), dropped when splitting.
_ENVELOPE = frozenset({"FHS", "BHS", "BTS", "FTS"})
_STANDARD_SEPARATORS = "\r|~^&"
_STANDARD_ESCAPE = "\\"


def _lines(text: str) -> list[str]:
    """The segments of ``text``: any of \\r, \\n, \\r\\n ends one; blank ones dropped."""
    stripped = (line.strip() for line in _LINE_END.split(text.translate(_NOT_TEXT)))
    return [line for line in stripped if line]


def split_messages(text: str) -> list[str]:
    """The messages of a file: one message, several, or an HL7 batch.

    The batch envelope (FHS, BHS, BTS, FTS) is dropped; \\r, \\n and \\r\\n line
    ends, blank lines and MLLP framing bytes are accepted. Each message comes
    back with \\r after every segment, as HL7 writes it. Segments before the
    first MSH are not dropped silently: they come back first, as a "message"
    of their own, which :func:`read_header` refuses (no MSH), so the inbox
    records the refusal.
    """
    chunks: list[list[str]] = []
    for line in _lines(text):
        kind = line[:3]
        if kind in _ENVELOPE:
            continue
        if kind == "MSH" or not chunks:
            chunks.append([line])
        else:
            chunks[-1].append(line)
    return ["".join(segment + "\r" for segment in chunk) for chunk in chunks]


@dataclass(frozen=True)
class _Encoding:
    """The separators and escape character a message declares in MSH-1 and MSH-2."""

    field: str
    repetition: str
    component: str
    subcomponent: str
    escape: str


_STANDARD_ENCODING = _Encoding("|", "~", "^", "&", "\\")


def _encoding_of(msh_line: str) -> _Encoding | None:
    """MSH-1 and MSH-2 (component, repetition, escape, subcomponent), or None when unusable.

    HL7 v2.5.1 section 2.5.4: the field separator follows "MSH" and the
    encoding characters fill MSH-2; each must be a distinct character that is
    not a letter, a digit or a space (v2.7 adds a fifth, the truncation
    character, which is accepted and ignored).
    """
    if len(msh_line) < 5:
        return None
    separator = msh_line[3]
    declared = msh_line[4:].split(separator, 1)[0]
    characters = separator + declared
    if not 2 <= len(declared) <= 5 or len(set(characters)) != len(characters):
        return None
    if any(character.isalnum() or character.isspace() for character in characters):
        return None
    padded = declared + "\\&"[len(declared) - 2 :] if len(declared) < 4 else declared
    if len(set(separator + padded[:4])) != 5:
        return None
    return _Encoding(separator, padded[1], padded[0], padded[3], padded[2])


_ESCAPES = {"F": "field", "S": "component", "T": "subcomponent", "R": "repetition", "E": "escape"}


def _unescape(text: str, encoding: _Encoding) -> str:
    """A value with its escape sequences (HL7 v2.5.1 section 2.7) turned back into text.

    \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ are the separators, \\X..\\ hexadecimal bytes
    (read as Latin-1), \\.br\\ a line break; highlighting and other formatting
    sequences are dropped. An unterminated sequence stays as it is.
    """
    escape = encoding.escape
    if escape not in text:
        return text
    pieces: list[str] = []
    position = 0
    while position < len(text):
        start = text.find(escape, position)
        end = text.find(escape, start + 1) if start >= 0 else -1
        if start < 0 or end < 0:
            pieces.append(text[position:])
            break
        pieces.append(text[position:start])
        sequence = text[start + 1 : end]
        if sequence in _ESCAPES:
            pieces.append(getattr(encoding, _ESCAPES[sequence]))
        elif sequence == ".br":
            pieces.append("\n")
        elif sequence[:1] == "X" and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", sequence[1:]):
            pieces.append(bytes.fromhex(sequence[1:]).decode("latin-1"))
        position = end + 1
    return "".join(pieces)


def _escape(text: str) -> str:
    """Text made safe for a field written with the standard encoding characters |^~\\&."""
    text = text.replace("\\", "\\E\\")
    for character, sequence in (("|", "\\F\\"), ("^", "\\S\\"), ("~", "\\R\\"), ("&", "\\T\\")):
        text = text.replace(character, sequence)
    return " ".join(text.splitlines())


def _parse(text: str) -> Any:
    """``hl7.parse`` on normalised text; what it cannot split is a refusal, never a traceback."""
    try:
        return hl7.parse(text)
    except Exception:  # python-hl7 raises ParseException, IndexError, AssertionError... on junk
        raise AdtError(
            "the message could not be read as HL7 version 2", REJECT, SEGMENT_SEQUENCE_ERROR
        ) from None


def _leaf(node: Any, path: Sequence[int]) -> str:
    """The raw (escaped) text at 1-based ``path`` below a python-hl7 container.

    python-hl7 keeps a value without separators as a plain string at a higher
    level ("I" rather than a repetition holding a component), so a string met
    before the end of the path is the value only when the rest of the path is
    all 1s (HL7's rule: X is X.1 is X.1.1).
    """
    for depth, index in enumerate(path):
        if isinstance(node, str):
            return node if all(rest == 1 for rest in path[depth:]) else ""
        if index > len(node):
            return ""
        node = node[index - 1]
    return node if isinstance(node, str) else ""


class _Segment:
    """One segment of a parsed message, read by HL7 field numbers, unescaped."""

    def __init__(self, segment: Any, encoding: _Encoding) -> None:
        self._segment = segment
        self._encoding = encoding

    @property
    def name(self) -> str:
        return _leaf(self._segment, (1, 1))

    def field(self, number: int) -> Any:
        """Field ``number`` (MSH-3 is field 3, as for every segment in python-hl7), or ""."""
        return self._segment[number] if number < len(self._segment) else ""

    def value(
        self, number: int, component: int = 1, subcomponent: int = 1, repetition: int = 1
    ) -> str:
        """The unescaped, stripped value at field.repetition.component.subcomponent; "" for none.

        The HL7 null ``""`` (the sender deletes the value) reads as none.
        """
        raw = _leaf(self.field(number), (repetition, component, subcomponent))
        value = _unescape(raw, self._encoding).strip()
        return "" if value == '""' else value

    def repetitions(self, number: int) -> int:
        """How many repetitions field ``number`` holds (1 for an empty field)."""
        field = self.field(number)
        return 1 if isinstance(field, str) else max(1, len(field))

    def text(self, number: int) -> str:
        """Field ``number`` whole, re-encoded with the standard separators (escapes kept)."""
        return _standard_text(self.field(number), self._encoding, 0)


def _standard_text(node: Any, encoding: _Encoding, depth: int) -> str:
    """A field (or a part of one) written again with |^~\\& as separators."""
    if isinstance(node, str):
        return _escape(_unescape(node, encoding)) if encoding != _STANDARD_ENCODING else node
    joiner = "~^&"[min(depth, 2)]
    return joiner.join(_standard_text(part, encoding, depth + 1) for part in node)


def _segments(message: Any, encoding: _Encoding, name: str) -> list[_Segment]:
    wrapped = (_Segment(segment, encoding) for segment in message)
    return [segment for segment in wrapped if segment.name == name]


# --- The header ------------------------------------------------------------------


def read_header(text: str, local_zone: tzinfo | None = None) -> MessageHeader:
    """The MSH of one message (and EVN-1 for a missing event), read tolerantly.

    Only the MSH (and EVN) lines are read, so a message whose body is broken
    still gets its header, to be acknowledged and filed. A malformed MSH-7 reads
    as no time here. Raises :class:`AdtError` AR when there is no MSH segment,
    its separators are unusable, or MSH-10 (the control id) is empty; the
    error's ``header`` holds what could be read.
    """
    lines = _lines(text)
    msh_line = next((line for line in lines if line.startswith("MSH")), None)
    if msh_line is None:
        raise AdtError(
            "the message has no MSH header segment",
            REJECT,
            SEGMENT_SEQUENCE_ERROR,
            UNREADABLE_HEADER,
        )
    encoding = _encoding_of(msh_line)
    if encoding is None:
        raise AdtError(
            "MSH-1 and MSH-2 do not declare usable separators",
            REJECT,
            SEGMENT_SEQUENCE_ERROR,
            UNREADABLE_HEADER,
        )
    try:
        parsed = _parse(msh_line)
    except AdtError as error:
        raise AdtError(error.reason, REJECT, error.error_code, UNREADABLE_HEADER) from None
    msh = _Segment(parsed[0], encoding)
    event = msh.value(9, 2).upper() or _event_from_evn(lines, encoding)
    try:
        message_time = hl7_time(msh.value(7), "MSH-7 message time", local_zone)
    except AdtError:
        message_time = None
    header = MessageHeader(
        sender=f"{msh.value(3)}^{msh.value(4)}",
        receiver=f"{msh.value(5)}^{msh.value(6)}",
        control_id=msh.value(10),
        message_type=msh.value(9).upper(),
        event=event or None,
        version=msh.value(12),
        message_time=message_time,
        processing_id=msh.text(11),
        sending_application=msh.text(3),
        sending_facility=msh.text(4),
        receiving_application=msh.text(5),
        receiving_facility=msh.text(6),
    )
    if not header.control_id:
        raise AdtError(
            "MSH-10 message control id is missing", REJECT, REQUIRED_FIELD_MISSING, header
        )
    return header


def _event_from_evn(lines: Sequence[str], encoding: _Encoding) -> str:
    """EVN-1 (the event type code, kept for older senders), read from its line alone."""
    evn_line = next((line for line in lines if line.startswith("EVN" + encoding.field)), "")
    fields = evn_line.split(encoding.field)
    if len(fields) < 2:
        return ""
    first_component = fields[1].split(encoding.repetition)[0].split(encoding.component)[0]
    return _unescape(first_component, encoding).strip().upper()


# --- Mappings ----------------------------------------------------------------------

#: PV1-2 patient class (HL7 table 0004) to the FHIR Encounter class. O outpatient
#: and R recurring patient are ambulatory; B obstetrics is an inpatient stay. P
#: preadmit (no stay yet), C commercial account, N not applicable and U unknown
#: say nothing about where the patient is: no class.
PATIENT_CLASSES: dict[str, EncounterClass] = {
    "I": EncounterClass.inpatient,
    "E": EncounterClass.emergency,
    "O": EncounterClass.ambulatory,
    "R": EncounterClass.ambulatory,
    "B": EncounterClass.inpatient,
}

#: The code senders use for an observation stay. HL7 table 0004 has no
#: observation class, so the common convention (hospitals' interface
#: specifications, not the standard) is an outpatient or emergency class with
#: "OBS" as PV1-18 patient type or PV1-10 hospital service, or "OBS" in PV1-2.
OBSERVATION = "OBS"


def encounter_class_of(
    patient_class: str, patient_type: str = "", hospital_service: str = ""
) -> EncounterClass | None:
    """The encounter class of PV1-2, PV1-18 and PV1-10 (see :data:`PATIENT_CLASSES`)."""
    patient_class = patient_class.strip().upper()
    if patient_class == OBSERVATION:
        return EncounterClass.observation
    if patient_class in ("O", "E") and OBSERVATION in (
        patient_type.strip().upper(),
        hospital_service.strip().upper(),
    ):
        return EncounterClass.observation
    return PATIENT_CLASSES.get(patient_class)


_HOME = DischargeDisposition.home
_OTHER_FACILITY = DischargeDisposition.other_facility
_EXPIRED = DischargeDisposition.expired

#: PV1-36 discharge disposition to FHIR discharge-disposition. HL7 table 0112
#: is user-defined; US senders use the NUBC UB-04 "patient discharge status"
#: codes (form locator 17), listed here with their NUBC meaning. Target codes:
#: http://terminology.hl7.org/CodeSystem/discharge-disposition, where "hosp" is
#: hospice. 09 (admitted as an inpatient to this hospital) and 30 (still a
#: patient) are not a discharge from the stay: no disposition.
_BASE_DISPOSITIONS: dict[str, DischargeDisposition] = {
    "01": _HOME,  # home or self care (routine discharge)
    "02": _OTHER_FACILITY,  # short-term general hospital for inpatient care
    "03": DischargeDisposition.skilled_nursing,  # skilled nursing facility (SNF)
    "04": DischargeDisposition.long_term_care,  # intermediate care facility (ICF)
    "05": _OTHER_FACILITY,  # designated cancer center or children's hospital
    "06": _HOME,  # home under a home health service organisation
    "07": DischargeDisposition.against_advice,  # left against medical advice
    "20": _EXPIRED,  # expired
    "21": DischargeDisposition.other,  # court or law enforcement
    "40": _EXPIRED,  # expired at home (hospice claims)
    "41": _EXPIRED,  # expired in a medical facility (hospice claims)
    "42": _EXPIRED,  # expired, place unknown (hospice claims)
    "43": _OTHER_FACILITY,  # federal health care facility (a VA hospital)
    "50": DischargeDisposition.hospice,  # hospice, home
    "51": DischargeDisposition.hospice,  # hospice, medical facility
    "61": DischargeDisposition.skilled_nursing,  # swing bed within this hospital
    "62": DischargeDisposition.rehabilitation,  # inpatient rehabilitation facility
    "63": DischargeDisposition.long_term_care,  # long-term care hospital (LTCH)
    "64": DischargeDisposition.long_term_care,  # nursing facility (Medicaid, not Medicare)
    "65": DischargeDisposition.psychiatric,  # psychiatric hospital or unit
    "66": _OTHER_FACILITY,  # critical access hospital
    "69": _OTHER_FACILITY,  # designated disaster alternative care site
    "70": _OTHER_FACILITY,  # another type of institution not defined elsewhere
}

#: NUBC 81-95: the same destinations with a planned acute care readmission.
PLANNED_READMISSION_BASES: dict[str, str] = {
    "81": "01",
    "82": "02",
    "83": "03",
    "84": "04",
    "85": "05",
    "86": "06",
    "87": "21",
    "88": "43",
    "89": "61",
    "90": "62",
    "91": "63",
    "92": "64",
    "93": "65",
    "94": "66",
    "95": "70",
}

DISCHARGE_DISPOSITIONS: dict[str, DischargeDisposition] = {
    **_BASE_DISPOSITIONS,
    **{code: _BASE_DISPOSITIONS[base] for code, base in PLANNED_READMISSION_BASES.items()},
}


def disposition_of(code: str) -> DischargeDisposition | None:
    """PV1-36 as a FHIR discharge disposition (:data:`DISCHARGE_DISPOSITIONS`).

    "1" reads as "01" (a sender or a spreadsheet lost the leading zero). An
    unknown code, 09 and 30 give None: the source did not say where the
    patient went.
    """
    code = code.strip()
    if len(code) == 1 and code in "0123456789":
        code = "0" + code
    return DISCHARGE_DISPOSITIONS.get(code)


def visit_key_of(
    visit_number: str,
    visit_authority: str,
    patient: PatientIdentifier,
    admitted_at: datetime | None,
) -> tuple[str, bool]:
    """The key that ties a visit's messages together, and whether it is the fallback.

    PV1-19 (the visit number) with its assigning authority in the CX form,
    "V123^^^MERCY" ("V123" without one). A message without PV1-19 gets a
    fallback built from the first patient identifier and the admit time, as
    local wall time to the second: "H12345^^^MERCY@20241205101500"
    (``@`` alone when there is no admit time either). Two messages of one
    visit carry the same fallback only when both send the same PV1-44, so the
    service should match a fallback key loosely (the patient's open encounter).
    """
    if visit_number:
        return (f"{visit_number}^^^{visit_authority}" if visit_authority else visit_number), False
    patient_key = f"{patient.value}^^^{patient.authority}" if patient.authority else patient.value
    admitted = f"{admitted_at:%Y%m%d%H%M%S}" if admitted_at is not None else ""
    return f"{patient_key}@{admitted}", True


# --- The message -------------------------------------------------------------------

#: The events that start a visit: without PV1-44 their admit time is EVN-6, else EVN-2.
_VISIT_STARTS = frozenset({"A01", "A04", "A06"})
#: The events whose admit time is required (the patient is in hospital from then).
_ADMISSIONS = frozenset({"A01", "A06"})


def parse_adt(text: str, local_zone: tzinfo | None = None) -> AdtFacts:
    """The facts of one ADT message; :class:`AdtError` (AR or AE) when nursecase cannot take it.

    Times with an offset are converted to ``local_zone`` (see :func:`hl7_time`).
    Refused (AR): no MSH or MSH-10 (:func:`read_header`), more than one message,
    a message type other than ADT, no trigger event. In error (AE): no PID or
    no PID-3 value; no PV1 for an event in :data:`APPLIED_EVENTS`; A01 or A06
    without an admit time (PV1-44, else EVN-6, else EVN-2); A03 without PV1-45;
    a discharge before the admission; any malformed time, naming its field.
    Every refusal carries the header (``AdtError.header``).
    """
    header = read_header(text, local_zone)
    try:
        return _read_facts(text, header, local_zone)
    except AdtError as error:
        raise AdtError(error.reason, error.ack_code, error.error_code, header) from None


def _read_facts(text: str, header: MessageHeader, local_zone: tzinfo | None) -> AdtFacts:
    """The body of :func:`parse_adt`, once the header is read."""
    # A batch envelope around one message is tolerated (``split_messages`` drops it too).
    lines = [line for line in _lines(text) if line[:3] not in _ENVELOPE]
    if not lines[0].startswith("MSH"):
        raise AdtError("the message does not begin with MSH", REJECT, SEGMENT_SEQUENCE_ERROR)
    if sum(1 for line in lines if line.startswith("MSH")) > 1:
        raise AdtError("the text holds more than one message", REJECT, SEGMENT_SEQUENCE_ERROR)
    if header.message_type != "ADT":
        shown = f" (MSH-9 is {header.message_type})" if header.message_type.isalnum() else ""
        raise AdtError(f"not an ADT message{shown}", REJECT, UNSUPPORTED_MESSAGE_TYPE)
    if header.event is None:
        raise AdtError(
            "the message names no trigger event (MSH-9.2 or EVN-1)", REJECT, UNSUPPORTED_EVENT_CODE
        )
    event = header.event
    encoding = _encoding_of(lines[0]) or _STANDARD_ENCODING
    message = _parse("\r".join(lines))

    evn = next(iter(_segments(message, encoding, "EVN")), None)
    recorded_at = hl7_time(evn.value(2), "EVN-2 recorded time", local_zone) if evn else None
    occurred_at = hl7_time(evn.value(6), "EVN-6 event time", local_zone) if evn else None
    event_time = occurred_at or recorded_at

    pid = next(iter(_segments(message, encoding, "PID")), None)
    if pid is None:
        raise AdtError("the message has no PID segment", ERROR, SEGMENT_SEQUENCE_ERROR)
    identifiers = tuple(
        PatientIdentifier(pid.value(3, 1, repetition=number), pid.value(3, 4, repetition=number))
        for number in range(1, pid.repetitions(3) + 1)
        if pid.value(3, 1, repetition=number)
    )
    if not identifiers:
        raise AdtError("PID-3 holds no patient identifier", ERROR, REQUIRED_FIELD_MISSING)
    name_repetition = next(
        (n for n in range(1, pid.repetitions(5) + 1) if pid.value(5, 7, repetition=n) == "L"), 1
    )
    birth = hl7_time(pid.value(7), "PID-7 birth date")

    pv1 = next(iter(_segments(message, encoding, "PV1")), None)
    if pv1 is None and event in APPLIED_EVENTS:
        raise AdtError(f"an {event} message needs a PV1 segment", ERROR, SEGMENT_SEQUENCE_ERROR)
    admitted_at: datetime | None = None
    discharged_at: datetime | None = None
    encounter_class: EncounterClass | None = None
    disposition: DischargeDisposition | None = None
    visit_number = visit_authority = facility = ""
    if pv1 is not None:
        admitted_at = hl7_time(pv1.value(44), "PV1-44 admit time", local_zone)
        discharged_at = hl7_time(pv1.value(45), "PV1-45 discharge time", local_zone)
        encounter_class = encounter_class_of(pv1.value(2), pv1.value(18), pv1.value(10))
        disposition = disposition_of(pv1.value(36))
        visit_number, visit_authority = pv1.value(19), pv1.value(19, 4)
        facility = pv1.value(3, 4) or pv1.value(39)
    if admitted_at is None and event in _VISIT_STARTS:
        admitted_at = event_time
    if admitted_at is None and event in _ADMISSIONS:
        raise AdtError(
            "PV1-44 admit time is missing (and EVN-6 and EVN-2 are empty)",
            ERROR,
            REQUIRED_FIELD_MISSING,
        )
    if discharged_at is None and event == "A03":
        raise AdtError("PV1-45 discharge time is missing", ERROR, REQUIRED_FIELD_MISSING)
    if admitted_at is not None and discharged_at is not None and discharged_at < admitted_at:
        raise AdtError(
            "PV1-45 discharge time is before PV1-44 admit time", ERROR, APPLICATION_INTERNAL_ERROR
        )
    visit_key, fallback = visit_key_of(visit_number, visit_authority, identifiers[0], admitted_at)
    return AdtFacts(
        header=header,
        event=event,
        identifiers=identifiers,
        family_name=pid.value(5, 1, repetition=name_repetition) or None,
        given_name=pid.value(5, 2, repetition=name_repetition) or None,
        birth_date=birth.date() if birth is not None else None,
        encounter_class=encounter_class,
        visit_key=visit_key,
        facility=facility or header.sender.partition("^")[2] or None,
        admitted_at=admitted_at,
        discharged_at=discharged_at,
        disposition=disposition,
        diagnoses=_diagnoses(_segments(message, encoding, "DG1")),
        event_time=event_time,
        visit_key_is_fallback=fallback,
    )


def _diagnoses(segments: Sequence[_Segment]) -> tuple[Diagnosis, ...]:
    """Every DG1 with something in it, in DG1-1 (set id) order; unnumbered ones last, as sent."""

    def order(indexed: tuple[int, _Segment]) -> tuple[int, int]:
        position, segment = indexed
        set_id = segment.value(1)
        numbered = set_id.isascii() and set_id.isdigit()
        return (int(set_id), position) if numbered else (1 << 30, position)

    diagnoses = []
    for _, segment in sorted(enumerate(segments), key=order):
        code, text, system = segment.value(3, 1), segment.value(3, 2), segment.value(3, 3)
        display = text or segment.value(4) or code
        if display:
            diagnoses.append(Diagnosis(code or None, system or None, display))
    return tuple(diagnoses)


# --- The acknowledgement -------------------------------------------------------------


def _hl7_timestamp(moment: datetime) -> str:
    """A ``datetime`` as an HL7 DTM to the second, with its offset when it has one."""
    text = f"{moment:%Y%m%d%H%M%S}"
    return text + f"{moment:%z}" if moment.utcoffset() is not None else text


def acknowledgement(
    header: MessageHeader,
    code: str,
    reason: str | None,
    now: datetime,
    control_id: str,
    error_code: str | None = None,
) -> str:
    """The original-mode ACK to a message (HL7 v2.5.1 section 2.9.2), as text.

    MSH with the sender and receiver swapped, MSH-7 ``now``, MSH-9
    "ACK^<event>^ACK" ("ACK" alone when the event is unknown), MSH-10 the new
    ``control_id``, the message's MSH-11 processing id and MSH-12 version; MSA
    with ``code`` (AA, AE or AR), the message's control id and the reason as
    MSA-3 text; for AE and AR an ERR segment too: ERR-3 the table 0357
    ``error_code`` (an :class:`AdtError`'s own; 207 application internal error
    when none is given), ERR-4 severity E, ERR-8 the reason. Every segment
    ends with \\r, as HL7 writes it. ``message.create_ack`` of python-hl7 is not
    used: it reads the system clock and needs the whole parsed message, which a
    broken one does not give.
    """
    if code not in (ACCEPT, ERROR, REJECT):
        raise ValueError(f"acknowledgement code {code!r} is not AA, AE or AR")
    their_application, their_facility = header.sender.partition("^")[::2]
    our_application, our_facility = header.receiver.partition("^")[::2]
    event = _escape(header.event) if header.event else ""
    msh = [
        "MSH",
        "^~\\&",
        header.receiving_application or _escape(our_application),
        header.receiving_facility or _escape(our_facility),
        header.sending_application or _escape(their_application),
        header.sending_facility or _escape(their_facility),
        _hl7_timestamp(now),
        "",
        f"ACK^{event}^ACK" if event else "ACK",
        _escape(control_id),
        header.processing_id,
        _escape(header.version),
    ]
    msa = ["MSA", code, _escape(header.control_id)]
    if reason:
        msa.append(_escape(reason))
    segments = ["|".join(msh), "|".join(msa)]
    if code != ACCEPT:
        condition = error_code or APPLICATION_INTERNAL_ERROR
        condition_text = _escape(ERROR_CODE_TEXT.get(condition, ""))
        err_code = f"{_escape(condition)}^{condition_text}^HL70357"
        segments.append("|".join(["ERR", "", "", err_code, "E", "", "", "", _escape(reason or "")]))
    return "".join(segment + "\r" for segment in segments)


__all__ = [
    "APPLIED_EVENTS",
    "DISCHARGE_DISPOSITIONS",
    "EVENT_WORDS",
    "PATIENT_CLASSES",
    "AdtError",
    "AdtFacts",
    "Diagnosis",
    "MessageHeader",
    "PatientIdentifier",
    "acknowledgement",
    "disposition_of",
    "encounter_class_of",
    "event_words",
    "hl7_time",
    "parse_adt",
    "read_header",
    "split_messages",
    "visit_key_of",
]
