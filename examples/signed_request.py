#!/usr/bin/env python3
"""Send one request signed with scheme v1 of nestjs-service-auth (standard library only).

Usage: API_KEY=... API_SECRET=... python3 signed_request.py METHOD URL [BODY]
Prints the status line and the response body.
"""
import hashlib
import hmac
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit


def sign_v1(api_key, secret, method, url, body, content_type=""):
    parts = urlsplit(url)
    host = parts.netloc.lower()          # host[:port] exactly as sent in the Host header
    target = parts.path or "/"           # request target as on the request line
    if parts.query:
        target += "?" + parts.query
    timestamp = str(int(time.time()))
    nonce = secrets.token_urlsafe(16)    # 22 characters of [A-Za-z0-9_-]
    string_to_sign = "\n".join([
        "API-HMAC-SHA256-V1", api_key, timestamp, nonce,
        method.upper(), host, target,
        content_type,                    # the Content-Type header as sent, "" when there is none
        hashlib.sha256(body).hexdigest(),
    ])
    mac = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "X-API-Key": api_key,
        "X-API-Timestamp": timestamp,
        "X-API-Nonce": nonce,
        "X-API-Signature": "v1=" + mac,
    }


def main():
    method, url = sys.argv[1], sys.argv[2]
    body = sys.argv[3].encode() if len(sys.argv) > 3 else b""
    content_type = "application/json" if body else ""
    headers = sign_v1(os.environ["API_KEY"], os.environ["API_SECRET"], method, url, body, content_type)
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body or None, method=method.upper(), headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            print(response.status)
            print(response.read().decode())
    except urllib.error.HTTPError as error:
        print(error.code)
        print(error.read().decode())


if __name__ == "__main__":
    main()
