#!/usr/bin/env python3
"""A small OpenID Connect provider for the tests, on loopback (test-support code, never shipped).

Discovery, JWKS (RS256; POST /_rotate adds a new signing key so the app has to refetch), an authorization endpoint
(a login form, or straight back with login_hint), and a token endpoint that checks the client secret and PKCE.
Tests choose a misbehaviour per login with test_mode=: wrong_aud, expired, bad_sig, alg_none, hs256, wrong_nonce,
wrong_iss. The identity: login_hint is the e-mail (email_verified true), or without "@" the subject; sub= overrides
the subject.
Usage: oidc_provider.py --port N [--client-id ID --client-secret S]"""
import argparse, base64, hashlib, hmac, html, json, os, secrets, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def int_b64u(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Keys:
    def __init__(self):
        self.lock = threading.Lock()
        self.keys = []          # (kid, private key)
        self.rotate()

    def rotate(self):
        with self.lock:
            k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.keys.append(("k%d" % (len(self.keys) + 1), k))

    def current(self):
        with self.lock:
            return self.keys[-1]

    def jwks(self):
        with self.lock:
            out = []
            for kid, k in self.keys:
                pn = k.public_key().public_numbers()
                out.append({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": int_b64u(pn.n), "e": int_b64u(pn.e)})
            return {"keys": out}


KEYS = Keys()
CODES = {}   # code -> dict
ARGS = None


def sign(header, claims, key):
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    c = b64u(json.dumps(claims, separators=(",", ":")).encode())
    msg = (h + "." + c).encode()
    if header["alg"] == "none":
        return h + "." + c + "."
    if header["alg"] == "HS256":
        # the classic confusion attack: the public key's bytes used as an HMAC secret
        pem = KEYS.current()[1].public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)
        return h + "." + c + "." + b64u(hmac.new(pem, msg, hashlib.sha256).digest())
    return h + "." + c + "." + b64u(key.sign(msg, padding.PKCS1v15(), hashes.SHA256()))


def id_token(entry):
    mode = entry.get("mode", "")
    now = int(time.time())
    kid, key = KEYS.current()
    claims = {"iss": ARGS.issuer, "aud": ARGS.client_id, "sub": entry["sub"], "email": entry["email"],
              "email_verified": True, "iat": now, "exp": now + 300, "nonce": entry["nonce"]}
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    if mode == "wrong_aud":
        claims["aud"] = "someone-else"
    elif mode == "expired":
        claims["iat"], claims["exp"] = now - 900, now - 600
    elif mode == "wrong_nonce":
        claims["nonce"] = "not-the-nonce"
    elif mode == "wrong_iss":
        claims["iss"] = "https://evil.example"
    elif mode == "unverified_email":
        claims["email_verified"] = False
    elif mode == "alg_none":
        header = {"alg": "none", "typ": "JWT"}
    elif mode == "hs256":
        header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    elif mode == "bad_sig":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return sign(header, claims, key)


class H(BaseHTTPRequestHandler):
    def log_message(self, fmt, *a):
        sys.stderr.write("oidc-provider: " + (fmt % a) + "\n")

    def send(self, status, body, ctype="application/json", headers=None):
        b = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(b)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(b)

    def do_GET(self):
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == "/.well-known/openid-configuration":
            return self.send(200, json.dumps({
                "issuer": ARGS.issuer, "authorization_endpoint": ARGS.issuer + "/authorize",
                "token_endpoint": ARGS.issuer + "/token", "jwks_uri": ARGS.issuer + "/jwks",
                "end_session_endpoint": ARGS.issuer + "/logout",
                "response_types_supported": ["code"], "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"], "subject_types_supported": ["public"]}))
        if u.path == "/jwks":
            return self.send(200, json.dumps(KEYS.jwks()))
        if u.path == "/authorize":
            for need in ("client_id", "redirect_uri", "state", "nonce", "code_challenge"):
                if not q.get(need):
                    return self.send(400, "missing " + need, "text/plain")
            if q["client_id"] != ARGS.client_id or q.get("code_challenge_method") != "S256":
                return self.send(400, "bad client or PKCE method", "text/plain")
            if not q.get("login_hint"):
                hidden = "".join('<input type="hidden" name="%s" value="%s">' % (html.escape(k), html.escape(v))
                                 for k, v in q.items())
                return self.send(200, "<!doctype html><title>Test IdP</title><form method=get action=/authorize>"
                                 "%s<label>E-mail <input name=login_hint id=login_hint></label>"
                                 "<button id=idp-submit>Sign in</button></form>" % hidden, "text/html")
            code = secrets.token_urlsafe(24)
            CODES[code] = {"client_id": q["client_id"], "redirect_uri": q["redirect_uri"], "nonce": q["nonce"],
                           "challenge": q["code_challenge"], "email": q["login_hint"],
                           "sub": q.get("sub") or (q["login_hint"] if "@" not in q["login_hint"] else "sub-" + q["login_hint"]), "mode": q.get("test_mode", ""),
                           "at": time.time()}
            return self.send(302, "", "text/plain",
                             {"Location": q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]})})
        if u.path == "/logout":
            # RP-initiated logout: our client only, back to where the app asked
            if q.get("client_id") != ARGS.client_id or not q.get("post_logout_redirect_uri"):
                return self.send(400, "bad logout request", "text/plain")
            return self.send(302, "", "text/plain", {"Location": q["post_logout_redirect_uri"]})
        return self.send(404, "not found", "text/plain")

    def do_POST(self):
        u = urlparse(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        f = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
        if u.path == "/_rotate":
            KEYS.rotate()
            return self.send(200, json.dumps({"kid": KEYS.current()[0]}))
        if u.path != "/token":
            return self.send(404, "not found", "text/plain")
        e = CODES.pop(f.get("code", ""), None)   # a code works once
        err = None
        if f.get("grant_type") != "authorization_code" or not e:
            err = "invalid_grant"
        elif f.get("client_id") != ARGS.client_id or f.get("client_secret") != ARGS.client_secret:
            err = "invalid_client"
        elif f.get("redirect_uri") != e["redirect_uri"]:
            err = "invalid_grant"
        elif b64u(hashlib.sha256(f.get("code_verifier", "").encode()).digest()) != e["challenge"]:
            err = "invalid_grant"   # PKCE
        if err:
            return self.send(400, json.dumps({"error": err}))
        return self.send(200, json.dumps({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                                          "expires_in": 300, "id_token": id_token(e)}))


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--client-id", default="rstream-test")
    p.add_argument("--client-secret", default="test-client-secret")
    ARGS = p.parse_args()
    ARGS.issuer = "http://127.0.0.1:%d" % ARGS.port
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), H)
    sys.stderr.write("oidc-provider: %s\n" % ARGS.issuer)
    srv.serve_forever()


if __name__ == "__main__":
    main()
