"""domain/ is pure: importing it pulls in only the standard library and itself."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

from nursecase.domain.referral_states import TransitionError
from nursecase.domain.validation import ValidationError

PROBE = """
import json, sys
before = set(sys.modules)
import nursecase.domain.business_days, nursecase.domain.clocks, nursecase.domain.codes
import nursecase.domain.tcm
import nursecase.domain.instruments, nursecase.domain.omaha, nursecase.domain.referral_states
import nursecase.domain.validation, nursecase.domain.care_plan_rules
import nursecase.domain.care_plan_templates
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_domain_imports_only_stdlib_and_itself():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)
    assert "nursecase.domain.instruments.lace" in loaded
    outside = [
        name
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith("nursecase.domain")
        and name != "nursecase"
    ]
    assert outside == []


def test_validation_errors_survive_pickling():
    # Errors may cross a worker boundary; they must keep their field and message.
    for error in (ValidationError("mrn", "is required"), TransitionError("status", "nope")):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.field, copy.message, str(copy)) == (error.field, error.message, str(error))
