"""HL7 v2 ADT messages (issue 21): times, the code mappings, the sample files, ACKs, splitting.

The sample messages are in tests/data/hl7 (hand-written, see its README).
"""

from __future__ import annotations

import pickle
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nursecase.domain.adt import (
    APPLIED_EVENTS,
    DISCHARGE_DISPOSITIONS,
    UNREADABLE_HEADER,
    AdtError,
    Diagnosis,
    PatientIdentifier,
    acknowledgement,
    disposition_of,
    encounter_class_of,
    hl7_time,
    parse_adt,
    read_header,
    split_messages,
    visit_key_of,
)
from nursecase.domain.codes import DischargeDisposition, EncounterClass

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "hl7"
NEW_YORK = ZoneInfo("America/New_York")
HOME = DischargeDisposition.home


def sample(name: str) -> str:
    return (SAMPLES / name).read_bytes().decode("ascii")


def message(*segments: str, end: str = "\r") -> str:
    """A small A01 whose segments can be replaced by name ("PV1|1|E" replaces the PV1)."""
    base = {
        "MSH": "MSH|^~\\&|EPICADT|MERCY|NURSECASE|CLINIC|20241205103000||ADT^A01|C1|P|2.5.1",
        "EVN": "EVN|A01|20241205103000",
        "PID": "PID|1||H1^^^MERCY^MR||Doe^Jane||19500101|F",
        "PV1": "PV1|1|I|4W^412^B^Mercy General"
        + "|" * 16
        + "V1^^^MERCY"
        + "|" * 25
        + "20241205101500",
    }
    extra = []
    for segment in segments:
        name = segment[:3]
        if name in base:
            base[name] = segment
        else:
            extra.append(segment)
    kept = [text for text in base.values() if text]
    return end.join(kept + extra) + end


def pv1(**fields: str) -> str:
    """A PV1 with the given fields (``f2="E"``, ``f44="2024..."``), the rest empty."""
    numbered = {int(key[1:]): value for key, value in fields.items()}
    return "|".join(["PV1"] + [numbered.get(n, "") for n in range(1, max(numbered) + 1)])


def refusal(text: str) -> AdtError:
    with pytest.raises(AdtError) as caught:
        parse_adt(text, UTC)
    return caught.value


# --- Times (HL7 v2.5.1 chapter 2A, DTM/TS) -----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", datetime(2024, 1, 1)),
        ("202412", datetime(2024, 12, 1)),
        ("20241205", datetime(2024, 12, 5)),
        ("2024120510", datetime(2024, 12, 5, 10)),
        ("202412051015", datetime(2024, 12, 5, 10, 15)),
        ("20241205101530", datetime(2024, 12, 5, 10, 15, 30)),
        ("20241205101530.5", datetime(2024, 12, 5, 10, 15, 30, 500000)),
        ("20241205101530.1234", datetime(2024, 12, 5, 10, 15, 30, 123400)),
        ("20241205101530.1234567", datetime(2024, 12, 5, 10, 15, 30, 123456)),
        ("20240229235959", datetime(2024, 2, 29, 23, 59, 59)),
        # No local zone: the wall time as sent, the offset dropped.
        ("20241205101500-0500", datetime(2024, 12, 5, 10, 15)),
        (" 20241205 ", datetime(2024, 12, 5)),
    ],
)
def test_times_are_read_at_every_precision(text, expected):
    assert hl7_time(text, "PV1-44 admit time") == expected


@pytest.mark.parametrize("text", ["", "   ", '""'])
def test_an_empty_time_or_the_hl7_null_is_none(text):
    assert hl7_time(text, "PV1-44 admit time") is None


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        # Converted to the local zone, returned naive.
        ("20241205101500-0500", NEW_YORK, datetime(2024, 12, 5, 10, 15)),
        ("20241205151500+0000", NEW_YORK, datetime(2024, 12, 5, 10, 15)),
        ("20241205101500-0500", UTC, datetime(2024, 12, 5, 15, 15)),
        # Across midnight, and across a year end, into the next day.
        ("20241231220000-0500", UTC, datetime(2025, 1, 1, 3, 0)),
        ("20250101003000+0100", NEW_YORK, datetime(2024, 12, 31, 18, 30)),
        # Summer time in New York (EDT, -0400) and a half-hour zone.
        ("20240704120000+0000", NEW_YORK, datetime(2024, 7, 4, 8, 0)),
        ("20241205120000+0530", UTC, datetime(2024, 12, 5, 6, 30)),
        # A negative offset under an hour keeps its sign (python-hl7's parser flips it).
        ("20241205120000-0030", UTC, datetime(2024, 12, 5, 12, 30)),
        # Without an offset there is nothing to convert: as sent.
        ("20241205101500", UTC, datetime(2024, 12, 5, 10, 15)),
        # The extreme legal offsets.
        ("20241205120000+2359", UTC, datetime(2024, 12, 4, 12, 1)),
        ("20241205120000-2359", UTC, datetime(2024, 12, 6, 11, 59)),
    ],
)
def test_a_time_with_an_offset_is_converted_to_the_local_zone(text, zone, expected):
    assert hl7_time(text, "PV1-44 admit time", zone) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024abc",
        "202",
        "20241",  # a month needs two digits
        "2024120",
        "20241305",  # month 13
        "20240230",  # 30 February
        "20230229",  # not a leap year
        "20241205241500",  # hour 24
        "20241205106000",  # minute 60
        "20241205101560",  # second 60
        "20241205101530.",  # a point without a fraction
        "20241205-05",  # an offset needs four digits
        "20241205101500-0560",  # offset minutes 60
        "20241205101500+2400",  # an offset of a day
        "2024-12-05",
        "2024-12-05T10:15:00Z",
        "00000101",
        "٢٠٢٤١٢٠٥",  # Arabic-Indic digits are digits to Python, not to HL7
    ],
)
def test_a_malformed_time_is_an_error_naming_the_field(text):
    for zone in (UTC, None):
        with pytest.raises(AdtError) as caught:
            hl7_time(text, "PV1-44 admit time", zone)
        assert caught.value.reason == "PV1-44 admit time is not an HL7 date and time"
        assert caught.value.ack_code == "AE"


def test_a_time_that_leaves_the_calendar_in_local_time_is_an_error_not_a_crash():
    for text in ("00010101000000+0100", "99991231233000-0100"):
        with pytest.raises(AdtError, match="EVN-2 recorded time is not"):
            hl7_time(text, "EVN-2 recorded time", UTC)


def test_a_malformed_time_in_a_message_names_its_field():
    error = refusal(message(pv1(f1="1", f2="I", f19="V1", f44="2024-12-05")))
    assert (error.ack_code, error.reason) == ("AE", "PV1-44 admit time is not an HL7 date and time")
    error = refusal(message(pv1(f1="1", f2="I", f19="V1", f44="2024120510", f45="20241299")))
    assert error.reason == "PV1-45 discharge time is not an HL7 date and time"
    error = refusal(message("EVN|A01|20241205|||x|yesterday"))
    assert error.reason == "EVN-6 event time is not an HL7 date and time"
    error = refusal(message("PID|1||H1^^^MERCY||Doe^Jane||19501"))
    assert error.reason == "PID-7 birth date is not an HL7 date and time"


def test_times_in_a_message_are_converted_to_the_local_zone():
    facts = parse_adt(sample("a01_admit.hl7"), local_zone=UTC)
    assert facts.admitted_at == datetime(2024, 12, 5, 15, 15)
    assert facts.header.message_time == datetime(2024, 12, 5, 15, 30)
    # The birth date is a calendar day: never moved by a zone.
    assert facts.birth_date == date(1948, 3, 12)


# --- PV1-2 patient class (HL7 table 0004) -------------------------------------------


@pytest.mark.parametrize(
    ("patient_class", "patient_type", "service", "expected"),
    [
        ("I", "", "", EncounterClass.inpatient),
        ("E", "", "", EncounterClass.emergency),
        ("O", "", "", EncounterClass.ambulatory),
        ("R", "", "", EncounterClass.ambulatory),
        ("B", "", "", EncounterClass.inpatient),
        ("i", "", "", EncounterClass.inpatient),
        (" E ", "", "", EncounterClass.emergency),
        # Observation: an outpatient or emergency class with OBS as type or service.
        ("O", "OBS", "", EncounterClass.observation),
        ("E", "OBS", "", EncounterClass.observation),
        ("O", "", "OBS", EncounterClass.observation),
        ("E", "", "obs", EncounterClass.observation),
        ("OBS", "", "", EncounterClass.observation),
        # OBS beside an inpatient class stays inpatient (the convention is O or E).
        ("I", "OBS", "OBS", EncounterClass.inpatient),
        ("O", "OBSERVATION", "", EncounterClass.ambulatory),
        ("P", "", "", None),
        ("P", "OBS", "", None),
        ("N", "", "", None),
        ("U", "", "", None),
        ("C", "", "", None),
        ("", "", "", None),
        ("X", "", "", None),
    ],
)
def test_patient_class_maps_to_the_encounter_class(patient_class, patient_type, service, expected):
    assert encounter_class_of(patient_class, patient_type, service) == expected


def test_observation_is_read_from_pv1_18_and_pv1_10_in_a_message():
    by_type = parse_adt(message(pv1(f1="1", f2="O", f18="OBS", f19="V1", f44="2024120510")))
    by_service = parse_adt(message(pv1(f1="1", f2="E", f10="OBS", f19="V1", f44="2024120510")))
    assert by_type.encounter_class == by_service.encounter_class == EncounterClass.observation


# --- PV1-36 discharge disposition (table 0112 = NUBC UB-04 patient status) -----------

DISPOSITION_TABLE = {
    "01": "home",
    "02": "other-hcf",
    "03": "snf",
    "04": "long",
    "05": "other-hcf",
    "06": "home",
    "07": "aadvice",
    "09": None,
    "20": "exp",
    "21": "oth",
    "30": None,
    "40": "exp",
    "41": "exp",
    "42": "exp",
    "43": "other-hcf",
    "50": "hosp",
    "51": "hosp",
    "61": "snf",
    "62": "rehab",
    "63": "long",
    "64": "long",
    "65": "psy",
    "66": "other-hcf",
    "69": "other-hcf",
    "70": "other-hcf",
    "81": "home",
    "82": "other-hcf",
    "83": "snf",
    "84": "long",
    "85": "other-hcf",
    "86": "home",
    "87": "oth",
    "88": "other-hcf",
    "89": "snf",
    "90": "rehab",
    "91": "long",
    "92": "long",
    "93": "psy",
    "94": "other-hcf",
    "95": "other-hcf",
}


@pytest.mark.parametrize(("code", "expected"), sorted(DISPOSITION_TABLE.items()))
def test_every_discharge_status_code_maps_as_the_table_says(code, expected):
    assert disposition_of(code) == (None if expected is None else DischargeDisposition(expected))


def test_the_table_holds_exactly_the_mapped_codes():
    mapped = {code for code, target in DISPOSITION_TABLE.items() if target is not None}
    assert set(DISCHARGE_DISPOSITIONS) == mapped


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1", HOME),
        ("6", HOME),
        ("7", DischargeDisposition.against_advice),
        ("3", DischargeDisposition.skilled_nursing),
        (" 01 ", HOME),
        ("9", None),
        ("0", None),
        ("00", None),
        ("08", None),
        ("96", None),
        ("80", None),
        ("001", None),
        ("", None),
        ("HOME", None),
    ],
)
def test_a_lost_leading_zero_is_restored_and_unknown_codes_say_nothing(code, expected):
    assert disposition_of(code) == expected


# --- The sample messages ----------------------------------------------------------

HAROLD = (
    PatientIdentifier("MRN-ADT-0001", "MERCY"),
    PatientIdentifier("4410087", "MERCYHOSP"),
)
STAY = "V20241205-0001^^^MERCY"
ADMITTED = datetime(2024, 12, 5, 10, 15)
HEART_FAILURE = Diagnosis("I50.23", "I10", "Acute on chronic systolic (congestive) heart failure")
KIDNEYS = Diagnosis("N18.30", "I10", "Chronic kidney disease, stage 3 unspecified")
DIABETES = Diagnosis("E11.9", "I10", "Type 2 diabetes mellitus without complications")
PNEUMONIA = Diagnosis("J18.9", "I10", "Pneumonia, unspecified organism")


def test_a01_admit():
    facts = parse_adt(sample("a01_admit.hl7"), NEW_YORK)
    assert facts.event == "A01" and facts.event in APPLIED_EVENTS
    assert facts.identifiers == HAROLD
    assert (facts.family_name, facts.given_name) == ("Lindqvist", "Harold")
    assert facts.birth_date == date(1948, 3, 12)
    assert facts.encounter_class == EncounterClass.inpatient
    assert (facts.visit_key, facts.visit_key_is_fallback) == (STAY, False)
    assert facts.facility == "Mercy General"
    assert (facts.admitted_at, facts.discharged_at, facts.disposition) == (ADMITTED, None, None)
    # Sent as DG1 1, 3, 2: read in set id order.
    assert facts.diagnoses == (HEART_FAILURE, KIDNEYS, DIABETES)
    assert facts.event_time == ADMITTED  # EVN-6, not EVN-2 (10:30)
    header = facts.header
    assert (header.sender, header.receiver) == ("EPICADT^MERCY", "NURSECASE^CLINIC")
    assert (header.control_id, header.message_type, header.event) == (
        "MERCY-20241205-000101",
        "ADT",
        "A01",
    )
    assert (header.version, header.processing_id) == ("2.5.1", "P")
    assert header.message_time == datetime(2024, 12, 5, 10, 30)


def test_a08_update():
    facts = parse_adt(sample("a08_update.hl7"), NEW_YORK)
    assert (facts.event, facts.visit_key, facts.admitted_at) == ("A08", STAY, ADMITTED)
    assert facts.diagnoses == (HEART_FAILURE, KIDNEYS, DIABETES, PNEUMONIA)
    assert facts.event_time == datetime(2024, 12, 6, 9, 15)  # EVN-2: no EVN-6


def test_a03_discharge():
    facts = parse_adt(sample("a03_discharge.hl7"), NEW_YORK)
    assert (facts.event, facts.visit_key, facts.identifiers) == ("A03", STAY, HAROLD)
    assert facts.admitted_at == ADMITTED
    assert facts.discharged_at == datetime(2024, 12, 9, 14, 30)
    assert facts.disposition == HOME  # 06, home under a home health organisation
    assert facts.diagnoses == (HEART_FAILURE, PNEUMONIA)


def test_a13_cancel_discharge_and_a11_cancel_admit():
    cancel_discharge = parse_adt(sample("a13_cancel_discharge.hl7"), NEW_YORK)
    cancel_admit = parse_adt(sample("a11_cancel_admit.hl7"), NEW_YORK)
    assert (cancel_discharge.event, cancel_discharge.visit_key) == ("A13", STAY)
    assert cancel_discharge.discharged_at is None
    assert (cancel_admit.event, cancel_admit.visit_key) == ("A11", STAY)
    assert cancel_admit.header.control_id == "MERCY-20241205-000188"


def test_a04_emergency_visit_and_a06_to_inpatient():
    emergency = parse_adt(sample("a04_ed.hl7"), NEW_YORK)
    assert emergency.encounter_class == EncounterClass.emergency
    assert emergency.visit_key == "V20241220-0031^^^MERCY"
    assert emergency.admitted_at == datetime(2024, 12, 20, 22, 15)
    assert emergency.diagnoses == (Diagnosis("R06.02", "I10", "Shortness of breath"),)
    stay = parse_adt(sample("a06.hl7"), NEW_YORK)
    assert (stay.event, stay.encounter_class) == ("A06", EncounterClass.inpatient)
    assert stay.visit_key == emergency.visit_key
    assert stay.admitted_at == datetime(2024, 12, 21, 1, 20)


def test_a04_clinic_visit_is_ambulatory_and_its_time_without_offset_stays_as_sent():
    facts = parse_adt(sample("a04_clinic.hl7"), UTC)
    assert facts.encounter_class == EncounterClass.ambulatory
    assert facts.facility == "Mercy Heart Clinic"
    assert facts.admitted_at == datetime(2024, 12, 17, 8, 30)


def test_unknown_mrn_is_read_like_any_other():
    facts = parse_adt(sample("unknown_mrn.hl7"), NEW_YORK)
    assert facts.identifiers == (PatientIdentifier("H99999", "MERCY"),)
    assert (facts.family_name, facts.given_name) == ("Okonkwo-Berg", "Beatrix")
    assert facts.birth_date == date(1956, 11, 30)


def test_malformed_header_is_refused_with_what_could_be_read():
    with pytest.raises(AdtError) as caught:
        read_header(sample("malformed.hl7"))
    error = caught.value
    assert (error.ack_code, error.reason) == ("AR", "MSH-10 message control id is missing")
    assert error.header is not None
    assert (error.header.sender, error.header.event, error.header.control_id) == (
        "EPICADT^MERCY",
        "A01",
        "",
    )
    assert refusal(sample("malformed.hl7")).ack_code == "AR"
    # The refusal can still be acknowledged.
    ack = hl7.parse(acknowledgement(error.header, "AR", error.reason, ACK_NOW, "NC-9"))
    assert str(ack.segment("MSA")(1)) == "AR"


def test_batch_holds_three_messages_of_one_readmission():
    messages = split_messages(sample("batch.hl7"))
    facts = [parse_adt(text, NEW_YORK) for text in messages]
    assert [fact.event for fact in facts] == ["A01", "A08", "A03"]
    assert {fact.visit_key for fact in facts} == {"V20241230-0009^^^MERCY"}
    assert facts[2].discharged_at == datetime(2025, 1, 2, 14, 45)
    assert facts[2].disposition == HOME
    assert len({fact.header.control_id for fact in facts}) == 3


# --- Refusals ------------------------------------------------------------------


def test_a_message_that_is_not_adt_is_rejected():
    error = refusal(message("MSH|^~\\&|LAB|MERCY|NC|CLINIC|20241205||ORU^R01|C1|P|2.5.1"))
    assert (error.ack_code, error.error_code) == ("AR", "200")
    assert error.reason == "not an ADT message (MSH-9 is ORU)"
    # Every refusal after the header carries it, to be acknowledged from the error.
    assert error.header is not None and error.header.control_id == "C1"


def test_no_msh_no_control_id_or_no_event_is_rejected():
    assert refusal("PID|1||H1\rPV1|1|I").ack_code == "AR"
    assert refusal("").ack_code == "AR"
    no_id = refusal(message("MSH|^~\\&|EPICADT|MERCY|NC|CLINIC|20241205||ADT^A01||P|2.5.1"))
    assert (no_id.ack_code, no_id.reason) == ("AR", "MSH-10 message control id is missing")
    no_event = refusal(message("MSH|^~\\&|A|B|C|D|20241205||ADT|C1|P|2.5.1", "EVN||20241205"))
    assert no_event.ack_code == "AR"


def test_the_event_comes_from_evn_1_when_msh_9_has_none():
    facts = parse_adt(message("MSH|^~\\&|A|B|C|D|20241205||ADT|C1|P|2.3", "EVN|a08|20241205"))
    assert facts.event == facts.header.event == "A08"


def test_a_message_without_patient_identifier_is_an_error():
    for pid in ("PID|1||", "PID|1||^^^MERCY~^^^SSA||Doe^Jane", 'PID|1||""'):
        error = refusal(message(pid))
        assert (error.ack_code, error.reason) == ("AE", "PID-3 holds no patient identifier")
    assert refusal(message("PID")).reason == "PID-3 holds no patient identifier"
    no_pid = message().replace("PID|1||H1^^^MERCY^MR||Doe^Jane||19500101|F\r", "")
    assert refusal(no_pid).ack_code == "AE"


@pytest.mark.parametrize("event", sorted(APPLIED_EVENTS))
def test_every_applied_event_needs_a_pv1(event):
    text = message(f"MSH|^~\\&|A|B|C|D|20241205||ADT^{event}|C1|P|2.5.1")
    without_pv1 = "".join(line + "\r" for line in text.split("\r") if line[:3] not in ("PV1", ""))
    error = refusal(without_pv1)
    assert error.ack_code == "AE" and "PV1" in error.reason


def test_an_event_nursecase_does_not_apply_is_read_without_a_pv1():
    text = "MSH|^~\\&|A|B|C|D|20241205||ADT^A31|C1|P|2.5.1\rEVN|A31|20241205\rPID|1||H1^^^M\r"
    facts = parse_adt(text)
    assert facts.event == "A31" and facts.event not in APPLIED_EVENTS
    assert (facts.encounter_class, facts.admitted_at) == (None, None)


def test_a03_needs_a_discharge_time():
    a03 = "MSH|^~\\&|A|B|C|D|20241205||ADT^A03|C1|P|2.5.1"
    error = refusal(message(a03))
    assert (error.ack_code, error.reason) == ("AE", "PV1-45 discharge time is missing")
    # EVN times are no discharge time.
    error = refusal(message(a03, "EVN|A03|20241209|||x|20241209"))
    assert error.reason == "PV1-45 discharge time is missing"


def test_an_admission_without_pv1_44_takes_evn_6_then_evn_2_else_is_an_error():
    no_admit_time = pv1(f1="1", f2="I", f19="V1")
    with_evn_6 = parse_adt(message(no_admit_time, "EVN|A01|202412051030|||x|202412051015"))
    assert with_evn_6.admitted_at == datetime(2024, 12, 5, 10, 15)
    with_evn_2 = parse_adt(message(no_admit_time, "EVN|A01|202412051030"))
    assert with_evn_2.admitted_at == datetime(2024, 12, 5, 10, 30)
    error = refusal(message(no_admit_time, "EVN|A01"))
    assert error.ack_code == "AE" and error.reason.startswith("PV1-44 admit time is missing")
    # An update without PV1-44 is no admission: no time is made up for it.
    a08 = "MSH|^~\\&|A|B|C|D|20241205||ADT^A08|C1|P|2.5.1"
    assert parse_adt(message(a08, no_admit_time, "EVN|A08|20241206")).admitted_at is None


def test_a_discharge_before_the_admission_is_an_error():
    text = message(pv1(f1="1", f2="I", f19="V1", f44="202412051015", f45="202412051014"))
    assert refusal(text).reason == "PV1-45 discharge time is before PV1-44 admit time"
    same_minute = message(pv1(f1="1", f2="I", f19="V1", f44="202412051015", f45="202412051015"))
    assert parse_adt(same_minute).discharged_at == datetime(2024, 12, 5, 10, 15)


def test_two_messages_in_one_text_are_refused():
    text = sample("a01_admit.hl7") + sample("a11_cancel_admit.hl7")
    assert refusal(text).reason == "the text holds more than one message"


def test_refusals_survive_pickling():
    error = AdtError("PV1-45 discharge time is missing", "AE", "101", UNREADABLE_HEADER)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.ack_code, copy.error_code, copy.header) == (
        error.reason,
        "AE",
        "101",
        UNREADABLE_HEADER,
    )
    assert str(copy) == error.reason


# --- Fields: identifiers, names, facility, visit key, escapes ------------------------


def test_identifiers_keep_every_repetition_and_their_authority():
    facts = parse_adt(message("PID|1||~H1^^^MERCY^MR~555^^^SSA&2.16.840.1.113883.4.1&ISO~77"))
    assert facts.identifiers == (
        PatientIdentifier("H1", "MERCY"),
        PatientIdentifier("555", "SSA"),
        PatientIdentifier("77", ""),
    )


def test_the_legal_name_is_preferred_and_escapes_are_undone():
    pid = "PID|1||H1||Smith^Jo^^^^^A~O\\T\\Brien\\S\\Kelly^Mary Ann^^^^^L||19500101"
    facts = parse_adt(message(pid))
    assert (facts.family_name, facts.given_name) == ("O&Brien^Kelly", "Mary Ann")
    nameless = parse_adt(message("PID|1||H1|||"))
    assert (nameless.family_name, nameless.given_name, nameless.birth_date) == (None, None, None)


def test_facility_falls_back_from_pv1_3_to_pv1_39_to_msh_4():
    assert parse_adt(message()).facility == "Mercy General"
    servicing = parse_adt(message(pv1(f1="1", f2="I", f3="4W^412", f39="Mercy East", f44="2024")))
    assert servicing.facility == "Mercy East"
    sender = parse_adt(message(pv1(f1="1", f2="I", f44="2024")))
    assert sender.facility == "MERCY"


def test_the_visit_key_falls_back_on_the_patient_and_the_admit_time():
    facts = parse_adt(message(pv1(f1="1", f2="I", f44="202412051015")))
    assert (facts.visit_key, facts.visit_key_is_fallback) == ("H1^^^MERCY@20241205101500", True)
    no_authority = PatientIdentifier("H1", "")
    assert visit_key_of("", "", no_authority, None) == ("H1@", True)
    assert visit_key_of("V9", "", no_authority, None) == ("V9", False)
    # The key is local wall time: one visit gives one key whatever offset each message sent.
    early = parse_adt(message(pv1(f1="1", f2="I", f44="20241205101500-0500")), NEW_YORK)
    late = parse_adt(message(pv1(f1="1", f2="I", f44="20241205151500+0000")), NEW_YORK)
    assert early.visit_key == late.visit_key


def test_diagnoses_fall_back_on_dg1_4_then_the_code_and_skip_empty_ones():
    facts = parse_adt(
        message(
            "DG1|2||I10^^I10|Essential hypertension",
            "DG1|1||R07.9",
            "DG1|x||^Chest pain",
            "DG1|3||",
        )
    )
    assert facts.diagnoses == (
        Diagnosis("R07.9", None, "R07.9"),
        Diagnosis("I10", "I10", "Essential hypertension"),
        Diagnosis(None, None, "Chest pain"),
    )


def test_other_encoding_characters_are_honoured():
    text = (
        "MSH#$%!*#EPIC#MERCY$1.2.3$ISO#NC#CLINIC#20241205##ADT$A01#C7#P#2.5.1\r"
        "PID#1##H1$$$MERCY%H2$$$SSA##Doe$Jane\r"
        "PV1#1#I#4W$412$B$Mercy General" + "#" * 16 + "V1$$$MERCY" + "#" * 25 + "20241205\r"
    )
    facts = parse_adt(text)
    assert facts.identifiers == (PatientIdentifier("H1", "MERCY"), PatientIdentifier("H2", "SSA"))
    assert facts.visit_key == "V1^^^MERCY"
    # The ACK is written with the standard separators and echoes MSH-4 whole.
    assert facts.header.sending_facility == "MERCY^1.2.3^ISO"


@pytest.mark.parametrize("msh", ["MSH", "MSH|", "MSH||", "MSH|^|", "MSH|^^~\\&|A", "MSHA^~\\&|A"])
def test_unusable_separators_are_rejected(msh):
    with pytest.raises(AdtError) as caught:
        read_header(msh + "\rPID|1||H1")
    assert caught.value.ack_code == "AR"
    assert caught.value.header == UNREADABLE_HEADER


# --- Splitting files ------------------------------------------------------------


def test_split_messages_accepts_every_line_end_blank_lines_and_mllp_framing():
    a01, a08 = sample("a01_admit.hl7"), sample("a08_update.hl7")
    expected = [_with_cr(a01), _with_cr(a08)]
    for end in ("\r", "\n", "\r\n"):
        text = _with_cr(a01).replace("\r", end) + end + end + _with_cr(a08).replace("\r", end)
        assert split_messages(text) == expected
    framed = "\x0b" + a01 + "\x1c\r" + "\x0b" + a08 + "\x1c\r"
    assert split_messages(framed) == expected
    assert split_messages("\ufeff" + a01) == [_with_cr(a01)]
    assert split_messages("") == split_messages("\r\n \n") == []


def _with_cr(text: str) -> str:
    return "".join(line + "\r" for line in re.split("[\r\n]+", text) if line)


def test_split_messages_drops_the_batch_envelope():
    messages = split_messages(sample("batch.hl7"))
    assert len(messages) == 3
    assert all(text.startswith("MSH|") and text.endswith("\r") for text in messages)
    assert not any(
        seg[:3] in ("FHS", "BHS", "BTS", "FTS") for m in messages for seg in m.split("\r")
    )


def test_segments_before_the_first_msh_are_kept_apart_to_be_refused():
    orphan, a01 = split_messages("PID|1||H1\r" + sample("a01_admit.hl7"))
    assert orphan == "PID|1||H1\r"
    assert read_header(a01).control_id == "MERCY-20241205-000101"
    with pytest.raises(AdtError, match="no MSH"):
        read_header(orphan)


def test_a_single_message_in_a_batch_envelope_is_read():
    text = "BHS|^~\\&|A\r" + sample("a01_admit.hl7") + "BTS|1\r"
    assert parse_adt(text).event == "A01"


# --- Acknowledgements ------------------------------------------------------------

ACK_NOW = datetime(2024, 12, 5, 10, 31, 7)


@pytest.mark.parametrize(
    ("code", "reason"),
    [("AA", None), ("AE", "PV1-45 discharge time is missing"), ("AR", "not an ADT message")],
)
def test_the_acknowledgement_reparses_with_its_code(code, reason):
    header = read_header(sample("a01_admit.hl7"))
    text = acknowledgement(header, code, reason, ACK_NOW, "NC-20241205-1")
    assert text.endswith("\r") and "\n" not in text
    ack = hl7.parse(text)
    msh, msa = ack.segment("MSH"), ack.segment("MSA")
    assert [str(msh(n)) for n in (3, 4, 5, 6, 7)] == [
        "NURSECASE",
        "CLINIC",
        "EPICADT",
        "MERCY",
        "20241205103107",
    ]
    assert str(msh(9)) == "ACK^A01^ACK"
    assert [str(msh(n)) for n in (10, 11, 12)] == ["NC-20241205-1", "P", "2.5.1"]
    assert str(msa(1)) == code
    assert str(msa(2)) == "MERCY-20241205-000101"
    if code == "AA":
        assert len(msa) == 3
        with pytest.raises(KeyError):
            ack.segment("ERR")
    else:
        assert str(msa(3)) == reason
        err = ack.segment("ERR")
        assert str(err(3)) == "207^Application internal error^HL70357"
        assert (str(err(4)), str(err(8))) == ("E", reason)


def test_the_acknowledgement_carries_the_refusals_error_code_and_escapes_its_text():
    header = read_header(sample("a01_admit.hl7"))
    ack = hl7.parse(
        acknowledgement(header, "AE", "PV1-44 | PV1-45 ^ bad", ACK_NOW, "N1", error_code="101")
    )
    assert ack.unescape(str(ack.segment("MSA")(3))) == "PV1-44 | PV1-45 ^ bad"
    assert str(ack.segment("ERR")(3)) == "101^Required field missing^HL70357"


def test_the_acknowledgement_echoes_whole_fields_and_an_aware_time_keeps_its_offset():
    text = sample("a01_admit.hl7").replace("|MERCY|NURSECASE|", "|MERCY^2.16.840.1^ISO|NURSECASE|")
    header = read_header(text)
    assert header.sender == "EPICADT^MERCY"
    eastern = datetime(2024, 12, 5, 10, 31, 7, tzinfo=timezone(-timedelta(hours=5)))
    ack = hl7.parse(acknowledgement(header, "AA", None, eastern, "N2"))
    assert str(ack.segment("MSH")(6)) == "MERCY^2.16.840.1^ISO"
    assert str(ack.segment("MSH")(7)) == "20241205103107-0500"


def test_an_acknowledgement_of_an_unreadable_header_is_still_a_message():
    ack = hl7.parse(acknowledgement(UNREADABLE_HEADER, "AR", "no MSH", ACK_NOW, "N3"))
    assert str(ack.segment("MSH")(9)) == "ACK"
    assert (str(ack.segment("MSA")(1)), str(ack.segment("MSA")(2))) == ("AR", "")


def test_an_unknown_acknowledgement_code_is_a_programming_error():
    with pytest.raises(ValueError):
        acknowledgement(UNREADABLE_HEADER, "CA", None, ACK_NOW, "N4")


# --- Never a traceback ------------------------------------------------------------

HEADERS = st.sampled_from(["", "MSH|^~\\&|", "MSH|^~\\&|A|B|C|D|2024||ADT^A01|C1|P|2.5.1\r"])
LINES = st.lists(
    st.one_of(
        st.text(max_size=40),
        st.builds(
            lambda name, body: name + body,
            st.sampled_from(["PID|", "PV1|", "EVN|", "DG1|", "MSH|", "BHS|", "PID|1||"]),
            st.text(alphabet='|^~\\&0123456789AEIO-+.\r\n "', max_size=60),
        ),
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(HEADERS, LINES)
def test_any_text_gives_facts_or_an_adt_error_never_a_traceback(header, lines):
    text = header + "\r".join(lines)
    for part in [text, *split_messages(text)]:
        try:
            parse_adt(part, UTC)
        except AdtError as error:
            assert error.ack_code in ("AE", "AR") and error.reason
