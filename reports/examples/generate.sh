#!/bin/sh
# Regenerates the example reports from the fixture trees with the kcheck given (default: the
# release build). Run from anywhere; the examples name the fixtures by their relative paths.
set -u
kcheck=$(realpath "${1:-.build/release/kcheck}")
cd "$(dirname "$0")/../.." || exit 2
out=reports/examples
"$kcheck" preflight --root fixtures/nodes/centos7-minimal --format junit > $out/centos7-minimal.junit.xml
"$kcheck" preflight --root fixtures/nodes/guide-sysctl-copy --format json > $out/guide-sysctl-copy.json
"$kcheck" preflight --root fixtures/nodes/no-systemd --format text --color never > $out/no-systemd.txt
"$kcheck" lint --root fixtures/nodes/env-guide-copy --format json > $out/lint-env-guide-copy.json
tmp=$(mktemp -d)
cp -a fixtures/nodes/services-wrong "$tmp/node"
(cd "$tmp" && "$kcheck" fix --root node --yes --format json -o fix.json > /dev/null)
sed "s|tree:node|tree:fixtures/nodes/services-wrong|g" "$tmp/fix.json" > $out/fix-services-wrong.json
rm -rf "$tmp/node" && cp -a fixtures/nodes/services-wrong "$tmp/node"
(cd "$tmp" && "$kcheck" fix --root node --yes --format junit -o fix.xml > /dev/null)
sed "s|tree:node|tree:fixtures/nodes/services-wrong|g" "$tmp/fix.xml" > $out/fix-services-wrong.junit.xml
mkdir "$tmp/snapshots" && cp -a fixtures/clusters/disagree/. "$tmp/snapshots/"
for f in json html markdown; do
    ext=$f; [ $f = markdown ] && ext=md
    (cd "$tmp" && "$kcheck" preflight --snapshots snapshots --format $f) > $out/cluster-snapshots.$ext
done
rm -rf "$tmp"
exit 0
