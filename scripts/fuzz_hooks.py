"""Schemathesis hooks for scripts/fuzz.

Every case runs with a fresh session of the fuzzing admin, so that a fuzzed
signout, revokeSession or signoutAll does not turn every later case into an
UNAUTHENTICATED answer (which schemathesis would count as a server error).
"""
import json
import os
import sqlite3
import urllib.request

import schemathesis

URL = os.environ["TESSERA_FUZZ_URL"]
LOGIN = os.environ["TESSERA_FUZZ_LOGIN"]
PASSWORD = os.environ["TESSERA_FUZZ_PASSWORD"]
DATABASE = os.environ["TESSERA_FUZZ_DB"]


def reset_account() -> None:
    """Puts the fuzzing admin back as it was: a fuzzed updateAccount may have
    changed its email, a fuzzed setUserStatus its status."""
    with sqlite3.connect(DATABASE, timeout=30) as db:
        db.execute(
            "UPDATE users SET email = ?, email_lower = ?, status = 'ACTIVE', role = 'ADMIN' WHERE id = "
            "(SELECT id FROM users WHERE role = 'ADMIN' ORDER BY created_at LIMIT 1)",
            (LOGIN, LOGIN.lower()),
        )
        db.execute("DELETE FROM rate_limits")


def fresh_token() -> str:
    query = "mutation($i: SigninInput!) { signin(input: $i) { tokens { accessToken } userErrors { code } } }"
    body = json.dumps({"query": query, "variables": {"i": {"login": LOGIN, "password": PASSWORD}}}).encode()
    request = urllib.request.Request(URL, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.load(response)
    return payload["data"]["signin"]["tokens"]["accessToken"]


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    reset_account()
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {fresh_token()}"}
