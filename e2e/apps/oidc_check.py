#!/usr/bin/env python3
"""Checks the test OIDC provider as the sidecar and a browser meet it behind a TLS-terminating
ingress (Python standard library only; used by verify-images.sh):

  oidc_check.py --server 127.0.0.1:8080 --public-host login.example.com --issuer-path /realms/acme

Every request goes to --server over plain HTTP with `Host: <public host>` and
`X-Forwarded-Proto: https`, as the ingress controller forwards it. Checks: discovery names
https://<public host><issuer path> and endpoints under it; the authorization code flow with PKCE
S256, state and nonce through the interactive login form (username and a JSON of claims, once with
amr ["pwd","mfa"], once with ["pwd"]); the ID token's iss, aud, sub, nonce and claims; its RS256
signature against the JWKS the provider publishes. Prints one JSON summary line (with the status a
second redemption of the same code gets: mock-oauth2-server accepts it); exits 1 on a failure.
"""

import argparse
import base64
import hashlib
import http.client
import json
import re
import secrets
import sys
import urllib.parse

PKCS1_SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Provider:
    def __init__(self, server, public_host):
        self.server = server
        self.headers = {"Host": public_host, "X-Forwarded-Proto": "https"}

    def request(self, method, path, body=None, headers=None):
        host, port = self.server.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=15)
        h = dict(self.headers)
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), data


def check(cond, msg):
    if not cond:
        print(f"oidc_check: FAILED: {msg}", file=sys.stderr)
        sys.exit(1)


def verify_rs256(token, jwks):
    header_b64, payload_b64, sig_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    check(header.get("alg") == "RS256", f"token alg {header.get('alg')}, expected RS256")
    keys = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")]
    check(len(keys) == 1, f"no JWKS key with the token's kid {header.get('kid')}")
    n = int.from_bytes(b64url_decode(keys[0]["n"]), "big")
    e = int.from_bytes(b64url_decode(keys[0]["e"]), "big")
    k = (n.bit_length() + 7) // 8
    em = pow(int.from_bytes(b64url_decode(sig_b64), "big"), e, n).to_bytes(k, "big")
    digest = hashlib.sha256(f"{header_b64}.{payload_b64}".encode()).digest()
    t = PKCS1_SHA256_PREFIX + digest
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    check(em == expected, "the ID token's signature does not verify with the published JWKS")


def sign_in(p, issuer, disc, client_id, redirect_uri, username, claims):
    verifier = b64url(secrets.token_bytes(32))
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    auth = urllib.parse.urlsplit(disc["authorization_endpoint"])
    query = urllib.parse.urlencode({
        "client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri,
        "scope": "openid email profile groups", "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    path = f"{auth.path}?{query}"
    status, _, page = p.request("GET", path, headers={"Accept": "text/html"})
    check(status == 200 and b'name="username"' in page and b'name="claims"' in page,
          f"GET authorize: {status}, expected the interactive login form")
    form = urllib.parse.urlencode({"username": username, "claims": json.dumps(claims)})
    status, headers, _ = p.request("POST", path, body=form,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    location = headers.get("Location") or headers.get("location") or ""
    check(status in (302, 303) and location.startswith(redirect_uri + "?"),
          f"login POST: {status} {location[:80]!r}, expected a redirect to the app's callback")
    answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    check(answer.get("state") == state and answer.get("code"), "callback without our state or a code")
    token_path = urllib.parse.urlsplit(disc["token_endpoint"]).path
    body = urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": redirect_uri,
        "client_id": client_id, "code_verifier": verifier,
    })
    status, _, data = p.request("POST", token_path, body=body,
                                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    check(status == 200, f"token endpoint: {status} {data[:200]!r}")
    tokens = json.loads(data)
    id_token = tokens["id_token"]
    claims_got = json.loads(b64url_decode(id_token.split(".")[1]))
    check(claims_got.get("iss") == issuer, f"id_token iss {claims_got.get('iss')!r}, expected {issuer!r}")
    aud = claims_got.get("aud")
    check(aud == client_id or (isinstance(aud, list) and client_id in aud), f"id_token aud {aud!r}")
    check(claims_got.get("sub") == username, f"id_token sub {claims_got.get('sub')!r}")
    check(claims_got.get("nonce") == nonce, "id_token nonce does not match")
    for k, v in claims.items():
        check(claims_got.get(k) == v, f"id_token claim {k} = {claims_got.get(k)!r}, expected {v!r}")
    access = json.loads(b64url_decode(tokens["access_token"].split(".")[1]))
    check(access.get("iss") == issuer, f"access_token iss {access.get('iss')!r}")
    # A real provider refuses a code the second time; mock-oauth2-server 2.3.0 issues tokens again
    # (without the PKCE check, its cached request being gone). Reported, not failed: a test-only
    # provider, and the sidecar never redeems a code twice.
    status, _, _ = p.request("POST", token_path, body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    claims_got["_code_replay_status"] = status
    return id_token, claims_got


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--public-host", default="login.example.com")
    ap.add_argument("--issuer-path", default="/realms/acme")
    ap.add_argument("--client-id", default="where2eat")
    ap.add_argument("--redirect-uri", default="https://where2eat.apps.example.com/oauth2/callback")
    a = ap.parse_args()
    p = Provider(a.server, a.public_host)
    issuer = f"https://{a.public_host}{a.issuer_path}"

    status, _, data = p.request("GET", f"{a.issuer_path}/.well-known/openid-configuration")
    check(status == 200, f"discovery: {status}")
    disc = json.loads(data)
    check(disc["issuer"] == issuer, f"discovery issuer {disc['issuer']!r}, expected {issuer!r}")
    for ep in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "end_session_endpoint"):
        check(disc.get(ep, "").startswith(issuer + "/"), f"{ep} {disc.get(ep)!r} is not under {issuer}")
    check("S256" in disc.get("code_challenge_methods_supported", ["S256"]), "no S256")
    status, _, data = p.request("GET", urllib.parse.urlsplit(disc["jwks_uri"]).path)
    check(status == 200, f"jwks: {status}")
    jwks = json.loads(data)

    mfa_claims = {"groups": ["food-team"], "email": "ann@acme.com", "email_verified": True, "amr": ["pwd", "mfa"]}
    token, got = sign_in(p, issuer, disc, a.client_id, a.redirect_uri, "ann", mfa_claims)
    verify_rs256(token, jwks)
    plain_claims = {"groups": ["food-team"], "email": "bob@acme.com", "email_verified": True, "amr": ["pwd"]}
    token2, got2 = sign_in(p, issuer, disc, a.client_id, a.redirect_uri, "bob", plain_claims)
    verify_rs256(token2, jwks)

    # Without the proxy's headers the issuer is the address the request came to: the forwarded
    # headers are what make it right behind the ingress.
    raw = http.client.HTTPConnection(*a.server.rsplit(":", 1), timeout=15)
    raw.request("GET", f"{a.issuer_path}/.well-known/openid-configuration")
    direct = json.loads(raw.getresponse().read())["issuer"]
    check(direct != issuer and re.match(r"^http://", direct), f"direct issuer {direct!r}")

    print(json.dumps({"issuer": disc["issuer"], "authorization_endpoint": disc["authorization_endpoint"],
                      "token_endpoint": disc["token_endpoint"], "jwks_uri": disc["jwks_uri"],
                      "mfa_sign_in": {k: got[k] for k in ("iss", "sub", "aud", "amr", "groups", "email")},
                      "plain_sign_in_amr": got2["amr"], "issuer_without_forwarded_headers": direct,
                      "code_replay_status": got["_code_replay_status"],
                      "signature": "RS256 verified against jwks_uri"}, sort_keys=True))


if __name__ == "__main__":
    main()
