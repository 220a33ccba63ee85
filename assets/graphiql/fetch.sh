#!/usr/bin/env bash
# Re-fetches the vendored GraphiQL files from the pinned npm releases (npm
# checks each tarball against the registry's integrity hash) and checks them
# against SHA256SUMS. After a deliberate version bump, change the versions
# below and in README.md, run `./fetch.sh --update` and commit.
set -euo pipefail
GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1

here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" >/dev/null
for tarball in "graphiql-$GRAPHIQL_VERSION" "react-$REACT_VERSION" "react-dom-$REACT_VERSION"; do
  package="${tarball%-*}"
  mkdir "$package"
  tar xzf "$tarball.tgz" -C "$package"
done
cp graphiql/package/graphiql.min.js graphiql/package/graphiql.min.css "$here/"
cp graphiql/package/LICENSE "$here/LICENSE-graphiql"
cp react/package/umd/react.production.min.js "$here/"
cp react-dom/package/umd/react-dom.production.min.js "$here/"
cp react/package/LICENSE "$here/LICENSE-react"

cd "$here"
vendored=(graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js LICENSE-graphiql LICENSE-react)
if [ "${1:-}" = "--update" ]; then
  sha256sum "${vendored[@]}" > SHA256SUMS
fi
sha256sum -c SHA256SUMS
