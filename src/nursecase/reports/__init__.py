"""Document writers shared by the printable care plan and ``nursecase export``.

A report is first built as a small :class:`~nursecase.reports.document.Document`
(title, label/value lines, headings, paragraphs, bullet lists, tables), then
rendered by a writer (:mod:`~nursecase.reports.markdown`, :mod:`~nursecase.reports.pdf`)
and saved with :func:`~nursecase.reports.files.write_atomically`.

This package is pure Python: no Textual, no database, no services (an
import-linter contract checks it), and the PDF library is imported only when a
PDF is rendered, so the CLI stays fast.
"""

from __future__ import annotations

from nursecase.reports.errors import ReportError

__all__ = ["ReportError"]
