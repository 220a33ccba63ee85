"""Schemathesis hooks for scripts/fuzz.

Every case runs with a fresh session of the fuzzing admin, so that a fuzzed
signout, revokeSession or signoutAll does not turn every later case into an
UNAUTHENTICATED answer (which schemathesis would count as a server error).
"""
import json
import os
import sqlite3
import subprocess
import urllib.request

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

URL = os.environ["TESSERA_FUZZ_URL"]
LOGIN = os.environ["TESSERA_FUZZ_LOGIN"]
PASSWORD = os.environ["TESSERA_FUZZ_PASSWORD"]
DATABASE = os.environ["TESSERA_FUZZ_DB"]


def _json_values():
    """Any JSON value as a GraphQL literal: the JSON scalar (WebAuthn options
    and credentials) takes objects, lists, strings, numbers, booleans, null."""
    leaves = st.one_of(
        st.none().map(lambda _: nodes.Null),
        st.booleans().map(nodes.Boolean),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.text(max_size=50).map(nodes.String),
    )
    field_name = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,15}\Z")

    def objects(children):
        return st.dictionaries(field_name, children, max_size=5).map(
            lambda d: nodes.Object(
                [graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v) for k, v in d.items()]
            )
        )

    return st.recursive(leaves, lambda children: st.one_of(st.lists(children, max_size=5).map(nodes.List), objects(children)), max_leaves=20)


schemathesis.graphql.scalar("JSON", _json_values())


def _reset_statements() -> list:
    # LOGIN is the script's own fixed address: no quoting is needed.
    return [
        f"UPDATE users SET email = '{LOGIN}', email_lower = '{LOGIN.lower()}', status = 'ACTIVE', role = 'ADMIN' WHERE id = "
        "(SELECT id FROM users ORDER BY created_at LIMIT 1)",
        "DELETE FROM rate_limits",
        # A fuzzed second factor would turn the next signin into an MFA challenge.
        *(f"DELETE FROM {table}" for table in ("totp_factors", "recovery_codes", "passkeys", "mfa_challenges")),
    ]


def reset_account() -> None:
    """Puts the fuzzing admin back as it was: a fuzzed updateAccount may have
    changed its email, a fuzzed setUserStatus or setUserRole its status or
    role, a fuzzed confirmTotp or finishPasskeyRegistration given it a second
    factor. DATABASE is a DATABASE_URL: SQLite or PostgreSQL."""
    if DATABASE.startswith("postgres"):
        script = ";\n".join(_reset_statements()) + ";"
        subprocess.run(["psql", DATABASE, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", script], check=True, capture_output=True, timeout=30)
        return
    path = DATABASE.removeprefix("sqlite://").split("?", 1)[0]
    with sqlite3.connect(path, timeout=30) as db:
        for statement in _reset_statements():
            db.execute(statement)


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
