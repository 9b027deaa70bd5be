"""The feedback database's URL as SQLAlchemy takes it, shared by the server (backend/feedback) and
``python -m ml finetune``: Render hands out ``postgres://`` URLs, and SQLAlchemy's default driver
for ``postgresql://`` is psycopg2; both name psycopg (3) instead. Import-free, so neither side
loads the other's code."""


def sqlalchemy_url(url: str) -> str:
    scheme, separator, rest = url.partition("://")
    if separator and scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url
