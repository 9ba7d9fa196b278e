"""Herald for Django projects: a transactional outbox and the relay that delivers it.

Add ``"herald.contrib.django"`` to ``INSTALLED_APPS``, configure ``HERALD = {...}`` and call
:mod:`herald.contrib.django.enqueue` inside the transaction that writes the business row.
``manage.py herald_relay`` (or ``HERALD["RELAY_IN_PROCESS"]``) hands the items to Herald.
"""
