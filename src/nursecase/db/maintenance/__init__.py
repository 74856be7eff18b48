"""db/'s maintenance tier: what rewrites, copies or backs up a whole database.

Above the core tier (``nursecase.db``: locations, engine, encryption keys,
schema revision, models, locking, bulk, damaged) and importing only from it,
never the reverse (an import-linter layers contract in pyproject.toml):

- ``migrate``: upgrading the schema, with a backup taken first;
- ``backup``: an SQLite file's backup, whole or not at all;
- ``server_backup``: a server database's backup (pg_dump, or a logical copy);
- ``copy``: copying one database into another, across SQLite and PostgreSQL;
- ``conversion``: encrypting a database file in place, and decrypting it back.

Inside the tier, ``migrate`` sits above ``server_backup``, which sits above
``copy`` and ``backup``; ``migrate`` never imports ``copy``.
"""
