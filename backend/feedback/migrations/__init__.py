"""The feedback table's schema history, in Alembic's layout: env.py, versions/ (one file a change,
applied in order by backend.feedback.database.upgrade at start), script.py.mako (Alembic's template
for a new one). To add one, change models.py, then write versions/000N_<what>.py as 0001 is
written (``alembic revision --autogenerate`` from the project folder writes a draft: pyproject.toml's
[tool.alembic] points it here)."""
