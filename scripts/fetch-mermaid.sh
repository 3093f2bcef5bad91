#!/usr/bin/env bash
# Fetch the Mermaid build the documentation site serves itself (mkdocs.yml
# extra_javascript), so no page loads it from a CDN: the `mermaid` package's tarball
# from the npm registry, pinned by version and checked against its sha256 before it is
# unpacked, then dist/mermaid.min.js checked again. The file is git-ignored (3.5 MB).
#   bash scripts/fetch-mermaid.sh [DEST]   (default docs/assets/vendor/mermaid.min.js)
# A no-op when DEST already holds the pinned build. Needs npm (Debian: apt-get install npm).
set -euo pipefail

# Material for MkDocs 9.x drives Mermaid 11 (the major it would load from a CDN).
MERMAID_VERSION=11.17.2
TARBALL_SHA256=6ad2f42c3fc26bbf9e45cbb6d11898972573ea52b33a5f4ff51952899f950ffd
FILE_SHA256=581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=${1:-$root/docs/assets/vendor/mermaid.min.js}

if [ -f "$dest" ] && echo "$FILE_SHA256  $dest" | sha256sum --check --status; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-mermaid: npm is needed to fetch mermaid@$MERMAID_VERSION from the npm" \
        "registry; install it (Debian: apt-get install npm, or bash scripts/system-deps.sh)" \
        "and rerun." >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mermaid@$MERMAID_VERSION" >/dev/null)
tarball="$tmp/mermaid-$MERMAID_VERSION.tgz"
if ! echo "$TARBALL_SHA256  $tarball" | sha256sum --check --status; then
    echo "fetch-mermaid: mermaid-$MERMAID_VERSION.tgz does not have the pinned sha256" \
        "$TARBALL_SHA256 (got $(sha256sum "$tarball" | cut -d' ' -f1)); not using it." >&2
    exit 1
fi
tar -xzmf "$tarball" -C "$tmp" package/dist/mermaid.min.js
if ! echo "$FILE_SHA256  $tmp/package/dist/mermaid.min.js" | sha256sum --check --status; then
    echo "fetch-mermaid: dist/mermaid.min.js in mermaid-$MERMAID_VERSION.tgz does not have" \
        "the pinned sha256 $FILE_SHA256; not using it." >&2
    exit 1
fi
mkdir -p "$(dirname "$dest")"
mv "$tmp/package/dist/mermaid.min.js" "$dest"
echo "fetch-mermaid: mermaid@$MERMAID_VERSION -> $dest" >&2
