"""CSV import of employees (E6) and schedules, for the ``import_csv`` command and upload screens.

* :func:`import_employees` / :func:`preview_employees`
* :func:`import_schedules` / :func:`preview_schedules`
* :func:`employees_csv`: the employees (or an empty template) as a file that imports back unchanged

All return an :class:`ImportReport` (counts, and every bad row by line and column, in Japanese
or English). Files may be UTF-8 (with or without BOM) or Shift_JIS/CP932. See ``docs/csv-import.md``.
"""

from __future__ import annotations

from sfacal.sources.csv.employees import EMPLOYEE_COLUMNS, import_employees, preview_employees
from sfacal.sources.csv.export import EmployeeRow, UnencodableError, employees_csv
from sfacal.sources.csv.report import FileError, ImportReport, RowChange, RowError, Stopped
from sfacal.sources.csv.schedules import SCHEDULE_COLUMNS, import_schedules, preview_schedules

__all__ = [
    "EMPLOYEE_COLUMNS",
    "SCHEDULE_COLUMNS",
    "EmployeeRow",
    "FileError",
    "ImportReport",
    "RowChange",
    "RowError",
    "Stopped",
    "UnencodableError",
    "employees_csv",
    "import_employees",
    "import_schedules",
    "preview_employees",
    "preview_schedules",
]
