"""Pure domain rules for nursecase: codes, validation, state machines, instruments, clocks.

Standard library only; imports nothing else from nursecase, so every layer may use it.
Modules: codes, validation, referral_states, instruments, omaha, business_days, clocks.
"""
