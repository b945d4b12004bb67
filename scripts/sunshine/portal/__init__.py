"""The portal's Datasette plugin (portal.py) and the launcher that serves with it (__main__.py)."""
