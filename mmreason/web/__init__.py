"""``mmreason serve``: a web page to talk to an image (FastAPI and one page of our own).

See :mod:`mmreason.web.app` for the HTTP API and docs/web.md for the page.
"""

from mmreason.web.app import create_app, serve

__all__ = ["create_app", "serve"]
