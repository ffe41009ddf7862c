from sqlite_template import sqlite_template  # noqa: F401 - the session's migrated template
