"""nursecase: a keyboard-driven workstation for nurse case managers."""

__version__ = "0.1.0"
