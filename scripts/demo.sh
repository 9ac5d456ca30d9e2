#!/usr/bin/env bash
# The main job (README's first command): installs what it needs, builds
# shype, then walks the policy workflow of the Users' Manual chapter 10 with
# the real tools on the shipped policies, printing each command and its
# output. Every decision shown is computed by the policy core; the script
# checks each one and fails if shype decides otherwise than the manual.
#
# Later stages extend this to boot shype-hv and drive it with xend and xm.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${SHYPE_BUILD_ROOT:-$top/out}

"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$out/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

acmtool=$out/release/acm/tools/acmtool
genpolicy=$out/release/tests/bench/shype-genpolicy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
policies=$work/etc/xen/acm-security/policies
mkdir -p "$policies/example"
cp "$top"/policies/*.xml "$policies/"
cp "$top"/policies/example/*.xml "$policies/example/"

section() { printf '\n==== %s ====\n' "$*"; }
# run EXPECTED_STATUS command...: shows the command and its output, and
# fails the demo if the exit status differs from the one expected.
run() {
  local expected=$1
  shift
  local shown="$*"
  shown=${shown//$out\/release\/acm\/tools\//}
  shown=${shown//$out\/release\/tests\/bench\//}
  printf '\n$ %s\n' "${shown//$work/}"
  set +e
  "$@" 2>&1 | sed "s|$work||g"
  local status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne "$expected" ]; then
    echo "demo: expected exit status $expected, got $status" >&2
    exit 1
  fi
}
acm() { run "$1" "$acmtool" "${@:2}"; }

section "10.2.2/10.3: the policies validate against the schema and the semantic rules"
acm 0 validate "$policies/DEFAULT-security_policy.xml"
acm 0 validate "$policies/mytest-security_policy.xml"
acm 0 validate "$policies/mytest_update-security_policy.xml"
acm 0 validate "$policies/example/test-security_policy.xml"

section "10.2.3: compile mytest to Xen's binary format (mytest.bin + mytest.map)"
acm 0 compile "$policies/mytest-security_policy.xml"
acm 0 dump "$policies/mytest.bin"

section "10.2.6 Test 1: run-time exclusion (Chinese Wall)"
acm 3 decide "$policies/mytest.bin" admit B-Bank --running A-Bank
acm 0 decide "$policies/mytest.bin" admit AutoCorp --running A-Bank
acm 0 decide "$policies/mytest.bin" admit B-Bank
acm 3 decide "$policies/mytest.bin" admit A-Bank.SecurityUnderwriting --running B-Bank

section "10.2.6 Test 2: resource access (Simple Type Enforcement)"
acm 0 decide "$policies/mytest.bin" share A-Bank res:A-Bank
acm 3 decide "$policies/mytest.bin" share A-Bank res:B-Bank
acm 3 decide "$policies/mytest.bin" share A-Bank B-Bank

section "10.2.7: Domain-0 labeled A-Bank authorizes only A-Bank workloads"
acm 0 decide "$policies/mytest.bin" authorize A-Bank A-Bank
acm 3 decide "$policies/mytest.bin" authorize A-Bank AutoCorp
acm 3 decide "$policies/mytest.bin" authorize A-Bank __UNLABELED__
acm 0 decide "$policies/mytest.bin" authorize SystemManagement AutoCorp

section "10.3.5: the run-time update mytest 1.0 -> 1.1, domain1 and domain4 running"
acm 0 plan "$policies/mytest-security_policy.xml" "$policies/mytest_update-security_policy.xml" \
  --running domain1=A-Bank --running domain4=A-Bank.SecurityUnderwriting \
  --resource file:/home/xen/dom_fc5/fedora.fc5.img=A-Bank \
  --resource file:/home/xen/dom_fc5/fedora.fc5.swap=A-Bank \
  --use domain1=file:/home/xen/dom_fc5/fedora.fc5.img \
  --use domain1=file:/home/xen/dom_fc5/fedora.fc5.swap
echo
echo "... and the same update while an unlabeled domain runs is rejected:"
acm 3 plan "$policies/mytest-security_policy.xml" "$policies/mytest_update-security_policy.xml" \
  --running domain1=A-Bank --running domain9=__UNLABELED__

section "bad input: a policy with mistakes is rejected with file, line and every reason"
sed -e '0,/<Name>AutoCorp<\/Name>/!{0,/<Type>AutoCorp<\/Type>/s//<Type>AutoKorp<\/Type>/}' \
    -e 's|<Name>B-Bank</Name>|<Name>A-Bank</Name>|' \
    "$policies/mytest-security_policy.xml" >"$work/broken-security_policy.xml"
acm 1 validate "$work/broken-security_policy.xml"

section "scale: 10,000 types and 10,000 labels in the compact format"
run 0 "$genpolicy" --types 10000 --labels 10000 --seed 42 -o "$work/big-security_policy.xml"
acm 0 compile "$work/big-security_policy.xml" --format compact -o "$work/big.bin"
acm 3 decide "$work/big.bin" share Org1 Org2
acm 0 decide "$work/big.bin" share Org214 res:Org214
acm 3 decide "$work/big.bin" admit Org1922 --running Org1991
acm 0 decide "$work/big.bin" admit Org1922 --running Org527

printf '\ndemo: every decision was the expected one\n'
