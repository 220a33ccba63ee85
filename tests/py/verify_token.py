"""Another service verifies a Tessera access token with PyJWT, finding the
key through the discovery document and the JWKS (PyJWKClient).

usage: python3 verify_token.py <base_url> [signing_key.pem]
Signs up and signs in a new user, verifies its token, checks that a wrong
audience, a wrong issuer and a tampered token are refused, and, given the
server's private key file, that Python's cryptography reads it and it is
the published key. Exits non-zero on any failure.
"""
import base64
import json
import sys
import urllib.request
import uuid

try:
    import jwt
    from jwt import PyJWKClient
    from cryptography.hazmat.primitives import serialization
except ImportError as e:
    sys.exit(f"missing Python package ({e}): pip install 'PyJWT[crypto]==2.15.1'")


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers, json.load(response)


def graphql(base, query, variables):
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query, "variables": variables}).encode(),
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert "errors" not in body, body
    return body["data"]


def main():
    base = sys.argv[1].rstrip("/")
    headers, config = get(f"{base}/.well-known/openid-configuration")
    assert config["issuer"] == base, config
    name = "pyjwt_" + uuid.uuid4().hex[:12]
    password = "correct horse battery staple"
    out = graphql(base, "mutation($i: SignupInput!) { signup(input: $i) { user { id } userErrors { code } } }",
                  {"i": {"email": f"{name}@example.com", "username": name, "password": password}})
    user_id = out["signup"]["user"]["id"]
    out = graphql(base, "mutation($i: SigninInput!) { signin(input: $i) { tokens { accessToken } } }",
                  {"i": {"login": name, "password": password}})
    token = out["signin"]["tokens"]["accessToken"]

    client = PyJWKClient(config["jwks_uri"])
    key = client.get_signing_key_from_jwt(token)
    assert type(key.key).__name__ == "Ed25519PublicKey", type(key.key)
    claims = jwt.decode(token, key.key, algorithms=["EdDSA"], audience="tessera-api", issuer=config["issuer"],
                        options={"require": ["exp", "iat", "iss", "aud", "sub"]})
    assert claims["sub"] == user_id, claims
    print("PyJWT", jwt.__version__, "verified the access token of", user_id, "with kid", key.key_id)

    for name, call, error in [
        ("wrong audience", lambda: jwt.decode(token, key.key, algorithms=["EdDSA"], audience="another-api", issuer=config["issuer"]), jwt.InvalidAudienceError),
        ("wrong issuer", lambda: jwt.decode(token, key.key, algorithms=["EdDSA"], audience="tessera-api", issuer="https://evil.example"), jwt.InvalidIssuerError),
        ("HS256 only", lambda: jwt.decode(token, key.key, algorithms=["HS256"], audience="tessera-api"), jwt.InvalidAlgorithmError),
    ]:
        try:
            call()
        except error:
            print("refused as it should be:", name)
        else:
            sys.exit(f"accepted with a {name}")
    header, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["sub"] = "someone-else"
    tampered = ".".join([header, base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode(), signature])
    try:
        jwt.decode(tampered, key.key, algorithms=["EdDSA"], audience="tessera-api", issuer=config["issuer"])
        sys.exit("accepted a tampered token")
    except jwt.InvalidSignatureError:
        print("refused as it should be: tampered")

    if len(sys.argv) > 2:
        # The generated key file is PKCS#8 that OpenSSL-based tools read.
        with open(sys.argv[2], "rb") as f:
            private = serialization.load_pem_private_key(f.read(), password=None)
        raw = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        published = [k["x"] for k in get(config["jwks_uri"])[1]["keys"]]
        assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() in published, "the key file is the published key"
        print("cryptography reads", sys.argv[2], "and it is the published key")


if __name__ == "__main__":
    main()
