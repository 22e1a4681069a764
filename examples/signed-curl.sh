#!/usr/bin/env bash
# Send one request signed with scheme v1 of nestjs-service-auth, with curl and openssl.
# Usage: API_KEY=... API_SECRET=... ./signed-curl.sh METHOD URL [BODY]
set -euo pipefail
method=$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
url=$2
body=${3-}

rest=${url#*://}                                   # host[:port]/path?query
host=$(printf '%s' "${rest%%/*}" | tr '[:upper:]' '[:lower:]')
target=/${rest#*/}
[ "$rest" = "${rest%%/*}" ] && target=/              # URL without a path
timestamp=$(date +%s)
nonce=$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=')
content_type=""                                     # v1 signs it: empty when the request has none
[ -n "$body" ] && content_type=application/json
body_sha256=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
string_to_sign=$(printf 'API-HMAC-SHA256-V1\n%s\n%s\n%s\n%s\n%s\n%s\n%s\n%s' \
  "$API_KEY" "$timestamp" "$nonce" "$method" "$host" "$target" "$content_type" "$body_sha256")
signature=$(printf '%s' "$string_to_sign" | openssl dgst -sha256 -hmac "$API_SECRET" -r | cut -d' ' -f1)

args=(-sS -X "$method" "$url"
  -H "X-API-Key: $API_KEY" -H "X-API-Timestamp: $timestamp"
  -H "X-API-Nonce: $nonce" -H "X-API-Signature: v1=$signature")
[ -n "$body" ] && args+=(-H "Content-Type: $content_type" --data-binary "$body")
curl "${args[@]}" -w '\n%{http_code}\n'
