"""Pages for people: the login, the inspection report and the credit dossier (server-side
HTML), and the offline API docs. ``routes`` holds the router; ``session`` the signed cookie
(imported by ``api.deps``, so this package imports nothing of ``api`` itself)."""
