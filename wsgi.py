"""The WSGI entry point for external servers, e.g. ``gunicorn -k gthread --threads 64 wsgi:app``.

This is the only module that builds an app at import time; settings come from ``HELPDESK_*``.
"""

from helpdesk import create_app

app = create_app()
