#!/usr/bin/env python3
"""Send one request signed with scheme rfc9421 of nestjs-service-auth (standard library only).

RFC 9421 HTTP Message Signatures with hmac-sha256, the body bound by a
Content-Digest (RFC 9530), as profiled in PROTOCOL.md, section "Scheme rfc9421".

Usage: API_KEY=... API_SECRET=... python3 rfc9421_request.py METHOD URL [BODY]
Prints the status line and the response body. With --dry-run (first argument)
it prints the headers it would send, as JSON, and sends nothing; SIGN_CREATED
and SIGN_NONCE then fix the otherwise current time and random nonce.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit


def sign_rfc9421(api_key, secret, method, url, body, content_type=None, created=None, nonce=None):
    parts = urlsplit(url)
    # @authority: the Host header lower-cased, without a default port.
    authority = re.sub(r":(80|443)$", "", parts.netloc.lower())
    created = int(time.time()) if created is None else created
    nonce = nonce or secrets.token_urlsafe(16)        # 22 characters of [A-Za-z0-9_-]
    components = [
        ("@method", method.upper()),
        ("@authority", authority),
        ("@path", parts.path or "/"),                  # as on the request line: no decoding
        ("@query", "?" + parts.query),                 # "?" alone when there is no query
    ]
    headers = {}
    if body:
        headers["Content-Type"] = content_type or "application/json"
        headers["Content-Digest"] = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
        components += [("content-type", headers["Content-Type"]), ("content-digest", headers["Content-Digest"])]
    # The API key and nonce are [A-Za-z0-9_-]: they need no escaping inside an RFC 8941 string.
    params = "(" + " ".join('"%s"' % name for name, _ in components) + ")"
    params += ';created=%d;keyid="%s";nonce="%s";alg="hmac-sha256"' % (created, api_key, nonce)
    base = "".join('"%s": %s\n' % (name, value) for name, value in components) + '"@signature-params": ' + params
    mac = hmac.new(secret.encode(), base.encode(), hashlib.sha256).digest()
    headers["Signature-Input"] = "sig1=" + params
    headers["Signature"] = "sig1=:" + base64.b64encode(mac).decode() + ":"
    return headers


def main():
    args = sys.argv[1:]
    dry_run = bool(args) and args[0] == "--dry-run"
    if dry_run:
        args = args[1:]
    method, url = args[0].upper(), args[1]
    body = args[2].encode() if len(args) > 2 else b""
    created = int(os.environ["SIGN_CREATED"]) if os.environ.get("SIGN_CREATED") else None
    headers = sign_rfc9421(os.environ["API_KEY"], os.environ["API_SECRET"], method, url, body,
                           created=created, nonce=os.environ.get("SIGN_NONCE"))
    if dry_run:
        print(json.dumps(headers))
        return
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            print(response.status)
            print(response.read().decode())
    except urllib.error.HTTPError as error:
        print(error.code)
        print(error.read().decode())


if __name__ == "__main__":
    main()
