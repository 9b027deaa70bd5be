"""The README and docs/ keep their promises: short README, links that lead somewhere, every setting
and error code documented, and curl examples that work against the app."""

from __future__ import annotations

import io
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from backend.config import from_env, server_from_env
from backend.errors import ERRORS
from tests.conftest import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, ROOT / "frontend" / "README.md", *sorted(DOCS.rglob("*.md"))]

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The text without code, where a bracket is not a link."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def _links(page: Path) -> list[str]:
    return LINK.findall(_prose(page.read_text()))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    anchors, seen = set(), {}
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        slug = _slug(heading)
        anchors.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def _local(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto: ...


def test_the_readme_is_a_short_product_page():
    assert len(README.read_text().splitlines()) <= 200


def test_the_slug_is_githubs():
    assert _slug("`python -m bench`: ours against a plain Flask + Keras server") == \
        "python--m-bench-ours-against-a-plain-flask--keras-server"
    assert _slug('Calibration and "Not sure"') == "calibration-and-not-sure"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(page):
    assert page.is_file()
    for target in filter(_local, _links(page)):
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), f"{page.name}: {target} leads nowhere"
        if anchor:
            assert linked.suffix == ".md", f"{page.name}: {target}: an anchor into a file without headings"
            assert anchor in _anchors(linked), f"{page.name}: {target}: no such heading"


def test_every_docs_page_is_reachable_from_the_readme():
    reached, todo = set(), [README.resolve()]
    while todo:
        page = todo.pop()
        if page in reached:
            continue
        reached.add(page)
        for target in filter(_local, _links(page)):
            path = target.partition("#")[0]
            linked = (page.parent / path).resolve()
            if path.endswith(".md") and linked.is_file():
                todo.append(linked)
    orphans = {page.relative_to(ROOT) for page in DOCS.rglob("*.md")} - {
        page.relative_to(ROOT) for page in reached}
    assert not orphans


@pytest.mark.parametrize("settings", [from_env, server_from_env])
def test_every_setting_is_documented(settings):
    documented = (DOCS / "configuration.md").read_text()
    missing = [name for name in settings() if f"`{name}`" not in documented]
    assert not missing, f"docs/configuration.md does not describe {missing}"


def test_every_error_code_is_documented():
    documented = (DOCS / "api.md").read_text()
    missing = [code for code in ERRORS if f"`{code}`" not in documented]
    assert not missing, f"docs/api.md does not describe {missing}"


# ----------------------------------------------------------------------------- curl examples

def _curl_commands(page: Path) -> list[str]:
    blocks = re.findall(r"^```bash\n(.*?)^```", page.read_text(), re.S | re.M)
    return [line.split("  #")[0] for block in blocks for line in block.splitlines()
            if line.startswith("curl ")]


def _picture(name: str) -> bytes:
    """The file an example names: a path (with a folder) is a file of this repository, sent as it
    is; a bare name (cat.jpg) stands for any picture, made here in the format its extension says."""
    if "/" in name:
        return (ROOT / name).read_bytes()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "PNG" if name.endswith(".png") else "JPEG")
    return buffer.getvalue()


def _send(client, command: str):
    """What curl would send for ``command`` (the -F, --data-binary and -H options it uses),
    through the app's test client."""
    words = shlex.split(command)[1:]
    form, files, headers, body, url = {}, [], {}, None, None
    while words:
        word = words.pop(0)
        if word == "-F":
            name, _, value = words.pop(0).partition("=")
            if value.startswith("@"):
                files.append((name, (io.BytesIO(_picture(value[1:])), Path(value[1:]).name)))
            else:
                form[name] = value
        elif word == "-H":
            name, _, value = words.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "--data-binary":
            body = _picture(words.pop(0).lstrip("@"))
        elif word.startswith("http"):
            url = urlsplit(word)
        else:
            raise AssertionError(f"the test does not know curl's {word}: teach it")
    path = url.path + (f"?{url.query}" if url.query else "")
    if body is not None:
        return client.post(path, data=body, headers=headers)
    data = dict(form)
    for name, upload in files:
        data.setdefault(name, []).append(upload)
    return client.post(path, data=data, headers=headers, content_type="multipart/form-data")


def _check_predictions(answer: dict, top_k: int, classes: list[str]) -> None:
    probabilities = [p["probability"] for p in answer["predictions"]]
    assert [p["label"] for p in answer["predictions"]] and len(probabilities) == top_k
    assert {p["label"] for p in answer["predictions"]} <= set(classes)
    assert probabilities == sorted(probabilities, reverse=True) and 0 <= probabilities[-1] <= 1
    assert isinstance(answer["not_sure"], bool)


def test_the_readme_has_one_curl_call():
    assert len(_curl_commands(README)) == 1


@pytest.mark.parametrize("page", [README, DOCS / "api.md"], ids=["README.md", "docs/api.md"])
def test_the_curl_examples_work(client, page):
    classes = client.get("/api/model").get_json()["classes"]
    commands = _curl_commands(page)
    assert commands
    for command in commands:
        response = _send(client, command)
        assert response.status_code == 200, (command, response.get_json())
        answer = response.get_json()
        top_k = int(re.search(r"top_k=(\d+)", command).group(1)) if "top_k=" in command else 5
        if "/api/predict/batch" in command:
            sent = [Path(word.split("@")[1]).name for word in shlex.split(command) if "=@" in word]
            assert [result["filename"] for result in answer["results"]] == sent
            for result in answer["results"]:
                _check_predictions(result, top_k, classes)
        else:
            assert set(answer) == {"predictions", "not_sure", "top_k", "model_version", "elapsed_ms"}
            assert answer["top_k"] == top_k
            _check_predictions(answer, top_k, classes)


def test_the_readme_describes_the_answer_curl_gets(client):
    """The README spells out the answer's fields: the ones the API really sends."""
    response = _send(client, _curl_commands(README)[0])
    text = README.read_text()
    assert [field for field in response.get_json() if f'"{field}"' not in text] == []
