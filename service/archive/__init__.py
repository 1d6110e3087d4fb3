"""Everything a learner owns, as one archive: a zip of JSON, a file per kind, and their
cards as an Anki package (`tutor export`, `GET /v1/export/all`)."""
