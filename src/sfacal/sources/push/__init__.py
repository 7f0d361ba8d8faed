"""The push API (``/api/v1/``) for Sales Force Assistant and any SFA without webhooks.

* :mod:`.api` -- the django-ninja API (``api``), its error handlers and body limits
* :mod:`.routes` -- the endpoints; :mod:`.service` and :mod:`.directory` do the work
* :mod:`.writeback` -- two-way: :func:`~.writeback.deliver_write_back` to the callback URL (T1)
* :mod:`.source` -- :class:`~.source.PushSource`, the :class:`~sfacal.sources.base.Source` of a
  push connection (check = a signed ping to the callback URL; write-back)
* :mod:`.directory` -- employees and masters as the API and the CSV import write them

See ``docs/push-api.md``.
"""
