"""`make bench`: county-scale figures for validation, the database, Datasette and the site."""
