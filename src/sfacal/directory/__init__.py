"""Who syncs what: the configuration the engine, the sources and the calendars work from.

Django apps (their labels, tables and migrations are those they always had):

* :mod:`.companies` -- a company, its sync settings (C1–C9), masters, memberships and roles (U1),
  the audit trail, and the services that change them (provisioning a company, reading a ``.pfx``);
* :mod:`.employees` -- an SFA user and how their schedules are mirrored (E1–E4, P1–P3), and the
  services that save them one at a time or many at once (E6, the push API's directory, CSV);
* :mod:`.connections` -- where schedules come from: a JUST.SFA connection with its user mapping
  (J1–J3), the push API's connection and tokens.

Below them, :mod:`.crypto` and :mod:`.fields` keep secrets encrypted at rest and :mod:`.writes`
lets long writes share the database's write lock.

This package imports only :mod:`sfacal.core` and :mod:`sfacal.config` of the project: the engine,
the sources, the calendars and the screens build on it, never the other way round. What the
engine must do when an employee changes reaches it through :mod:`.employees.changes`.
"""
