"""`sunshine init`: a fresh clone becomes a township's own project."""
