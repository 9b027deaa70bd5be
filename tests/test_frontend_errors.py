"""The page's error words agree with the server's error table: every code the server can send has a
hint in frontend/js/messages.js, the page has none for a code the server lacks, its own codes are
not the server's, and it reads an error answer that is not JSON (a proxy's page) as the server
would name that status. The page's tables are read by running the module in Node."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from backend.errors import CODE_FOR_STATUS, ERRORS
from tests.conftest import ROOT

MESSAGES = ROOT / "frontend" / "js" / "messages.js"
STATUSES = sorted(set(CODE_FOR_STATUS) | {402, 418, 422, 500, 502})


@pytest.fixture(scope="module")
def page():
    """messages.js's tables, and its code for each status in STATUSES, as Node evaluates them."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: the front end's tests need Node 20 (see package.json)")
    script = (
        f"import({json.dumps(MESSAGES.as_uri())}).then((m) => console.log(JSON.stringify({{"
        "hints: m.SERVER_ERROR_HINTS, pageMessages: m.PAGE_ERROR_MESSAGES,"
        f"codes: Object.fromEntries({json.dumps(STATUSES)}.map((s) => [s, m.codeForStatus(s)])),"
        "}))).catch((error) => { console.error(error); process.exit(1); });"
    )
    result = subprocess.run([node, "--input-type=module", "-e", script],
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_every_server_code_has_a_hint_and_no_hint_is_for_a_code_the_server_lacks(page):
    assert set(page["hints"]) == set(ERRORS), {
        "no hint in the page": sorted(set(ERRORS) - set(page["hints"])),
        "not a server code": sorted(set(page["hints"]) - set(ERRORS)),
    }
    assert all(hint.strip() for hint in page["hints"].values())


def test_the_page_codes_its_own_failures_with_codes_the_server_does_not_use(page):
    assert page["pageMessages"], "offline, time-outs and the camera need the page's own sentences"
    assert not set(page["pageMessages"]) & set(ERRORS)


def test_an_answer_without_the_api_body_gets_the_code_the_server_gives_its_status(page):
    for status in STATUSES:
        if status in CODE_FOR_STATUS:
            expected = CODE_FOR_STATUS[status]
        else:  # backend/errors.py's rule for a status without a code of its own
            expected = "bad_request" if status < 500 else "internal_error"
        assert page["codes"][str(status)] == expected, status
