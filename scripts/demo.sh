#!/usr/bin/env bash
# The main job (README's first command): installs what it needs, builds
# shype, then walks the policy workflow of the Users' Manual chapter 10 with
# the real tools on the shipped policies, printing each command and its
# output. Every decision shown is computed by the policy core; the script
# checks each one and fails if shype decides otherwise than the manual.
# Then it boots the hypervisor, shype-hv, and xend under a temporary
# SHYPE_ROOT and follows chapter 10 with xm, word for word where the manual
# shows commands: setpolicy, labeling domains and resources, the Chinese
# Wall and resource refusals, restricting Domain-0, the run-time update to
# mytest 1.1, resetpolicy, and a restart of both that keeps the boot policy.
# Then split devices through xm: a guest writes its labeled disk (the data
# is in the host file), the console ring and xm console, and a bridge that
# passes frames only between domains whose labels share a type.
# It ends with shype-ctl, Domain-0's low-level tool: a hostile guest that
# dies alone, two guests sharing a page and an event channel, and a pair the
# policy keeps apart.
# xend and the hypervisor are stopped by pid on every exit, and every wait is
# bounded.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${SHYPE_BUILD_ROOT:-$top/out}

"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" "$out/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

acmtool=$out/release/acm/tools/acmtool
genpolicy=$out/release/tests/bench/shype-genpolicy
hvbin=$out/release/hypervisor/src/shype-hv
ctlbin=$out/release/toolstack/xenctrl/shype-ctl
xendbin=$out/release/toolstack/xend/xend
xmbin=$out/release/toolstack/xm/xm
ezpolicy=$out/release/ezpolicy/xensec_ezpolicy
kernels=$out/release/hypervisor/guest
work=$(mktemp -d)
hvroot=$work/hv
# Stops a daemon by the pid in its pid file (SIGTERM, up to 10 s, then
# SIGKILL; the hypervisor kills its guests itself).
stop_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}
stop_hypervisor() {
  stop_pidfile "$hvroot/run/xend/xend.pid"
  stop_pidfile "$hvroot/run/shype/shype-hv.pid"
}
vtpm_managerd=$out/release/vtpm/vtpm_managerd
vtpmctl=$out/release/vtpm/vtpmctl
vtpmroot=$work/vtpm
platform_tpm=$work/platform-tpm
# The vTPM manager, then the swtpm standing in for the platform TPM.
stop_vtpm() {
  stop_pidfile "$vtpmroot/run/vtpm/vtpm_managerd.pid"
  stop_pidfile "$platform_tpm/swtpm.pid"
}
trap 'stop_vtpm; stop_hypervisor; rm -rf "$work"' EXIT
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
  local shown="" arg
  for arg in "$@"; do
    case $arg in
      *[[:space:]]*) shown+=" \"$arg\"" ;;
      *) shown+=" $arg" ;;
    esac
  done
  shown=${shown# }
  shown=${shown//$out\/release\/acm\/tools\//}
  shown=${shown//$out\/release\/tests\/bench\//}
  shown=${shown//$out\/release\/hypervisor\/src\//}
  shown=${shown//$out\/release\/toolstack\/xenctrl\//}
  shown=${shown//$out\/release\/toolstack\/xend\//}
  shown=${shown//$out\/release\/toolstack\/xm\//}
  shown=${shown//$out\/release\/ezpolicy\//}
  shown=${shown//$top\//}
  shown=${shown//env SHYPE_ROOT=$hvroot /}
  shown=${shown//env SHYPE_ROOT=$vtpmroot /}
  shown=${shown//$out\/release\/vtpm\//}
  shown=${shown//$out\/release\/hypervisor\/guest\//}
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

section "10.2.2: ezPolicy turns the workload of Figure 10.2 into a policy"
run 0 "$ezpolicy" --translate "$top/ezpolicy/examples/figure-10.2.wld" --policy ezbank \
  -o "$work/ezbank-security_policy.xml"
acm 0 validate "$work/ezbank-security_policy.xml"
acm 0 compile "$work/ezbank-security_policy.xml" -o "$work/ezbank.bin"
acm 3 decide "$work/ezbank.bin" admit B-Bank --running A-Bank
acm 0 decide "$work/ezbank.bin" admit AutoCorp --running A-Bank
if [ -n "${DISPLAY:-}" ]; then
  # With a display, the editor itself (bounded: closed after 10 minutes).
  printf '\n$ xensec_ezpolicy ezpolicy/examples/figure-10.2.wld   # close the window to go on\n'
  timeout --kill-after=5 600 "$ezpolicy" "$top/ezpolicy/examples/figure-10.2.wld" || true
fi

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

section "10.2.1: boot the hypervisor and xend under a temporary root (SHYPE_ROOT=/hv)"
# The manual's files, under the root: the kernel path of its configurations
# holds a sample guest kernel, the policies are in the policy directory, the
# disk images are small files.
mkdir -p "$hvroot/boot" "$hvroot/home/xen/dom_fc5" "$hvroot/etc/xen/acm-security" "$hvroot/root"
cp "$kernels/guest_hello" "$hvroot/boot/vmlinuz-2.6.18.8-xen"
cp -r "$work/etc/xen/acm-security/policies" "$hvroot/etc/xen/acm-security/"
for image in fedora.fc5 domain2 domain3 domain4; do
  head -c 1048576 /dev/zero >"$hvroot/home/xen/dom_fc5/$image.img"
  head -c 1048576 /dev/zero >"$hvroot/home/xen/dom_fc5/$image.swap"
done
for n in 1 2 3 4; do
  image=domain$n
  [ "$n" = 1 ] && image=fedora.fc5
  cat >"$hvroot/root/domain$n.xm" <<CONF
kernel= "/boot/vmlinuz-2.6.18.8-xen"
memory = 128
name = "domain$n"
disk = ['file:/home/xen/dom_fc5/$image.img,sda1,w', 'file:/home/xen/dom_fc5/$image.swap,sda2,w']
CONF
done
run 0 env SHYPE_ROOT="$hvroot" "$hvbin" start
run 0 env SHYPE_ROOT="$hvroot" "$xendbin" start
xm() { (cd "$hvroot/root" && run "$1" env SHYPE_ROOT="$hvroot" "$xmbin" "${@:2}"); }
xm 0 getpolicy
xm 0 labels
xm 0 list --label

section "10.2.3 (5): deploy the mytest policy"
xm 0 setpolicy ACM mytest
xm 0 list --label

section "10.2.4: an unlabeled domain runs under mytest (it has __UNLABELED__)"
printf '\n$ cat domain1.xm\n'
cat "$hvroot/root/domain1.xm"
xm 0 create domain1.xm
xm 0 list --label
xm 0 shutdown -w domain1
xm 0 labels
echo "(6) label domain1 A-Bank and domain2 B-Bank"
xm 0 addlabel A-Bank dom domain1.xm
xm 0 addlabel B-Bank dom domain2.xm
xm 1 create domain1.xm

section "10.2.5 (7): label its resources; now it starts"
xm 0 addlabel A-Bank res file:/home/xen/dom_fc5/fedora.fc5.img
xm 0 addlabel A-Bank res file:/home/xen/dom_fc5/fedora.fc5.swap
xm 0 resources
xm 0 create domain1.xm
xm 0 list --label
echo "(8) label domain2's resources B-Bank"
xm 0 addlabel B-Bank res file:/home/xen/dom_fc5/domain2.img
xm 0 addlabel B-Bank res file:/home/xen/dom_fc5/domain2.swap

section "10.2.6 Test 1: run-time exclusion rules (Chinese Wall)"
xm 1 create domain2.xm
xm 0 shutdown -w domain1
xm 0 create domain2.xm
xm 0 list --label
xm 1 create domain1.xm
xm 0 shutdown -w domain2

section "10.2.6 Test 2: resource access (Simple Type Enforcement)"
xm 0 rmlabel res file:/home/xen/dom_fc5/fedora.fc5.swap
xm 0 addlabel B-Bank res file:/home/xen/dom_fc5/fedora.fc5.swap
xm 0 resources
xm 1 create domain1.xm
xm 1 dry-run domain1.xm

section "10.2.7: restricting Domain-0 to A-Bank"
xm 0 rmlabel res file:/home/xen/dom_fc5/fedora.fc5.swap
xm 0 addlabel A-Bank res file:/home/xen/dom_fc5/fedora.fc5.swap
xm 0 create domain1.xm
xm 0 addlabel A-Bank mgt Domain-0
xm 0 list --label
xm 0 addlabel AutoCorp dom domain3.xm
xm 0 addlabel AutoCorp res file:/home/xen/dom_fc5/domain3.img
xm 0 addlabel AutoCorp res file:/home/xen/dom_fc5/domain3.swap
xm 1 create domain3.xm
xm 1 getlabel dom domain4.xm
xm 1 create domain4.xm
echo "... and Domain-0 cannot be restricted to B-Bank while an A-Bank domain runs:"
xm 1 addlabel B-Bank mgt Domain-0
xm 0 addlabel SystemManagement mgt Domain-0
xm 0 create domain3.xm
xm 0 list --label
printf '\n$ xm audit   # what was denied, from the hypervisor'"'"'s audit records\n'
(cd "$hvroot/root" && env SHYPE_ROOT="$hvroot" "$xmbin" audit | tail -n 4)

section "10.3.5: update the policy at run time (mytest 1.0 -> 1.1)"
xm 0 shutdown -w domain3
xm 0 addlabel A-Bank.SecurityUnderwriting dom domain4.xm
xm 0 addlabel A-Bank.SecurityUnderwriting res file:/home/xen/dom_fc5/domain4.img
xm 0 addlabel A-Bank.SecurityUnderwriting res file:/home/xen/dom_fc5/domain4.swap
xm 0 create domain4.xm
xm 0 list --label
xm 0 setpolicy ACM mytest_update
xm 0 list --label
xm 0 labels
xm 0 resources
xm 0 addlabel A-Bank-WL mgt Domain-0
xm 1 create domain3.xm
xm 0 addlabel SystemManagement mgt Domain-0
xm 0 create domain3.xm
xm 0 list --label

section "10.3.5: removing the policy (resetpolicy) needs the labeled domains stopped"
xm 1 resetpolicy
for name in domain1 domain3 domain4; do xm 0 shutdown -w "$name"; done
xm 0 resetpolicy
xm 0 getpolicy
xm 0 resources

section "10.3.5: changing to a different policy, and back"
xm 0 setpolicy ACM example.test
xm 0 labels
xm 0 resetpolicy
xm 0 setpolicy ACM mytest
xm 0 labels

section "the boot policy survives a restart of xend and of the hypervisor"
printf '\n$ cat /hv/etc/shype/boot.conf   # maintained by xend\n'
cat "$hvroot/etc/shype/boot.conf"
run 0 env SHYPE_ROOT="$hvroot" "$xendbin" stop
run 0 env SHYPE_ROOT="$hvroot" "$hvbin" stop
run 0 env SHYPE_ROOT="$hvroot" "$hvbin" start
run 0 env SHYPE_ROOT="$hvroot" "$xendbin" start
xm 0 getpolicy
xm 0 list --label
ctl() { run "$1" env SHYPE_ROOT="$hvroot" "$ctlbin" "${@:2}"; }
ctl 0 create "$kernels/guest_hello" name=bank-a label=A-Bank memory=8
ctl 0 create "$kernels/guest_counter" name=autocorp label=AutoCorp memory=8 cmdline=100
ctl 0 console autocorp --wait "counter 1" --timeout 10

section "split devices: an A-Bank guest writes its A-Bank disk through blkfront/blkback"
# guest_disk writes a pattern over 256 sectors through the ring and granted
# pages, reads it back and compares; the bytes are then in the host file.
cp "$kernels/guest_disk" "$hvroot/boot/guest_disk"
mkdir -p "$hvroot/home/xen/abank"
head -c 4194304 /dev/zero >"$hvroot/home/xen/abank/disk.img"
cat >"$hvroot/root/disk-a.xm" <<CONF
kernel = "/boot/guest_disk"
memory = 16
name = "disk-a"
disk = ['file:/home/xen/abank/disk.img,xvda,w']
extra = "mode=pattern sectors=256"
CONF
# console_wait NAME TEXT: waits (30 s at most) for TEXT in the guest's console log.
console_wait() {
  local log="$hvroot/var/log/xen/console/guest-$1.log" i
  for i in $(seq 300); do
    grep -qF -- "$2" "$log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: '$2' did not appear in $1's console" >&2
  exit 1
}
xm 0 addlabel A-Bank res file:/home/xen/abank/disk.img
xm 0 addlabel A-Bank dom disk-a.xm
xm 0 create disk-a.xm
console_wait disk-a "read back OK"
printf '\n$ cat /hv/var/log/xen/console/guest-disk-a.log\n'
cat "$hvroot/var/log/xen/console/guest-disk-a.log"
xm 0 block-list disk-a
printf '\n$ od -An -tx1 -N16 /hv/home/xen/abank/disk.img   # the guest'"'"'s bytes\n'
od -An -tx1 -N16 "$hvroot/home/xen/abank/disk.img"
echo "(a B-Bank disk is refused for it, at hot-plug as at create)"
head -c 1048576 /dev/zero >"$hvroot/home/xen/dom_fc5/bbank-extra.img"
xm 0 addlabel B-Bank res file:/home/xen/dom_fc5/bbank-extra.img
xm 1 block-attach disk-a file:/home/xen/dom_fc5/bbank-extra.img xvdb w
xm 0 destroy disk-a

section "split devices: the console ring, xenstore permissions and xm console"
cp "$kernels/guest_xs_probe" "$hvroot/boot/guest_xs_probe"
cat >"$hvroot/root/probe.xm" <<CONF
kernel = "/boot/guest_xs_probe"
memory = 16
name = "probe"
CONF
xm 0 addlabel A-Bank dom probe.xm
xm 0 create probe.xm
console_wait probe "xs: probe done"
printf '\n$ echo "hello, guest" | xm console probe\n'
(cd "$hvroot/root" && echo "hello, guest" | env SHYPE_ROOT="$hvroot" "$xmbin" console probe) | sed "s|$work||g"
xm 0 xenstore-ls /local/domain/$(env SHYPE_ROOT="$hvroot" "$xmbin" list probe | awk 'NR == 2 { print $2 }')
xm 0 destroy probe

section "split devices: frames pass only between domains whose labels share a type"
cp "$kernels/guest_net" "$hvroot/boot/guest_net"
net_config() {
  cat >"$hvroot/root/$1.xm" <<CONF
kernel = "/boot/guest_net"
memory = 16
name = "$1"
vif = ['bridge=xenbr0']
extra = "$2"
CONF
  xm 0 addlabel "$3" dom "$1.xm"
}
net_config net-a1 "ip=10.0.0.1" A-Bank
net_config net-a2 "ip=10.0.0.2 ping=10.0.0.1 count=3 interval=200 linger=1" A-Bank
net_config net-auto "ip=10.0.0.3 ping=10.0.0.1 count=3 interval=200 wait=1 linger=1" AutoCorp
xm 0 create net-a1.xm
xm 0 create net-a2.xm
console_wait net-a2 "packets transmitted"
printf '\n$ cat /hv/var/log/xen/console/guest-net-a2.log   # A-Bank to A-Bank\n'
cat "$hvroot/var/log/xen/console/guest-net-a2.log"
xm 0 create net-auto.xm
console_wait net-auto "packets transmitted"
printf '\n$ cat /hv/var/log/xen/console/guest-net-auto.log   # AutoCorp to A-Bank\n'
cat "$hvroot/var/log/xen/console/guest-net-auto.log"
xm 0 network-list net-auto
printf '\n$ tail -n 1 /hv/var/log/xen/net-audit.log\n'
tail -n 1 "$hvroot/var/log/xen/net-audit.log"
for name in net-auto net-a2 net-a1; do xm 0 destroy "$name"; done

section "shype-hv: a hostile guest (open(\"/etc/passwd\")) dies alone"
ctl 0 create "$kernels/guest_rogue" name=rogue label=AutoCorp memory=8 cmdline=open
ctl 0 wait rogue crashed --timeout 10
printf '\n$ grep rogue /hv/var/log/xen/shype-hv.log\n'
grep 'rogue' "$hvroot/var/log/xen/shype-hv.log" | sed "s|$work||g"
ctl 0 wait bank-a running --timeout 1
ctl 0 wait autocorp running --timeout 1
ctl 0 list

section "shype-hv: two A-Bank guests exchange data through a grant and an event channel"
# guest_pair: the server offers a port and a granted ring page to its peer;
# Domain-0 relays the domain ids and the offer through console input.
domid_of() { env SHYPE_ROOT="$hvroot" "$ctlbin" list | awk -v n="$1" '$1 == n { print $2 }'; }
ctl 0 create "$kernels/guest_pair" name=pair-server label=A-Bank memory=8 "cmdline=role=server count=100"
ctl 0 create "$kernels/guest_pair" name=pair-client label=A-Bank memory=8 \
  "cmdline=role=client count=100 peer=$(domid_of pair-server)"
ctl 0 input pair-server "peer=$(domid_of pair-client)"
ctl 0 console pair-server --wait "pair: offer" --timeout 10
offer=$(env SHYPE_ROOT="$hvroot" "$ctlbin" console pair-server | sed -n 's/^pair: offer //p')
ctl 0 input pair-client "$offer"
ctl 0 console pair-client --wait "pair: exchanged 100 messages ok" --timeout 30
ctl 0 console pair-server --wait "pair: exchanged 100 messages ok" --timeout 30

section "shype-hv: A-Bank may not share with AutoCorp: the offer itself is refused"
ctl 0 create "$kernels/guest_pair" name=pair-refused label=A-Bank memory=8 \
  "cmdline=role=server peer=$(domid_of autocorp)"
ctl 0 console pair-refused --wait "pair: grant refused: -13" --timeout 10
printf '\n$ shype-ctl audit | grep pair-refused\n'
env SHYPE_ROOT="$hvroot" "$ctlbin" audit | grep '"pair-refused"'
ctl 0 list

section "shype-hv: destroy the domains and stop the hypervisor"
for name in pair-refused pair-client pair-server rogue autocorp bank-a; do
  ctl 0 destroy "$name"
done
ctl 0 list
run 0 env SHYPE_ROOT="$hvroot" "$xendbin" stop
run 0 env SHYPE_ROOT="$hvroot" "$hvbin" stop
run 3 env SHYPE_ROOT="$hvroot" "$hvbin" status

if command -v swtpm >/dev/null && command -v tpm2_pcrextend >/dev/null; then
  section "vTPM: instance state encrypted under a key sealed to the platform TPM (a swtpm here)"
  mkdir -p "$platform_tpm"
  timeout 10 swtpm socket --tpm2 --tpmstate "dir=$platform_tpm" \
    --server "type=unixio,path=$platform_tpm/tpm.sock" \
    --ctrl "type=unixio,path=$platform_tpm/tpm.sock.ctrl" \
    --flags not-need-init,startup-clear --pid "file=$platform_tpm/swtpm.pid" \
    --log "file=$platform_tpm/swtpm.log" -d
  for _ in $(seq 50); do
    [ -S "$platform_tpm/tpm.sock" ] && [ -s "$platform_tpm/swtpm.pid" ] && break
    sleep 0.1
  done
  export SHYPE_VTPM_PLATFORM_TCTI="swtpm:path=$platform_tpm/tpm.sock"
  vtpmd() { run "$1" env SHYPE_ROOT="$vtpmroot" "$vtpm_managerd" "${@:2}"; }
  vctl() { run "$1" env SHYPE_ROOT="$vtpmroot" "$vtpmctl" "${@:2}"; }
  vtpmd 0 start
  vctl 0 create web --instance 3
  vctl 0 start web
  tcti=$(env SHYPE_ROOT="$vtpmroot" "$vtpmctl" tcti web)
  one=0000000000000000000000000000000000000000000000000000000000000001
  run 0 tpm2_startup -c -T "$tcti"
  run 0 tpm2_pcrextend -T "$tcti" "16:sha256=$one"
  vtpmd 0 restart
  run 0 tpm2_pcrread -T "$tcti" sha256:16
  vctl 0 stop web
  saved=$vtpmroot/var/lib/vtpm/instances/3/saved
  run 0 ls "$saved" "$vtpmroot/var/lib/vtpm"
  printf '\n$ head -c 8 saved/tpm2-00.permall   # an AES-256-GCM blob, not swtpm plaintext\n'
  head -c 8 "$saved/tpm2-00.permall"
  echo
  cp "$saved/tpm2-00.permall" "$work/permall.orig"
  printf '\n$ flip one byte of saved/tpm2-00.permall\n'
  printf 'X' | dd of="$saved/tpm2-00.permall" bs=1 seek=200 conv=notrunc status=none
  vctl 1 start web
  cp "$work/permall.orig" "$saved/tpm2-00.permall"
  vctl 0 start web
  run 0 tpm2_pcrread -T "$tcti" sha256:16
  section "vTPM: a deep quote binds the instance (EK, UUID, PCR 16) to a platform TPM quote"
  env SHYPE_ROOT="$vtpmroot" "$vtpmctl" ca-cert >"$work/ca.pem"
  env SHYPE_ROOT="$vtpmroot" "$vtpmctl" platform-ak >"$work/ak.pem"
  vctl 0 deepquote web --nonce 5eed5eed --pcrs 16 -o "$work/quote.json"
  vctl 0 verify "$work/quote.json" --nonce 5eed5eed --ak "$work/ak.pem" --ca "$work/ca.pem"
  vctl 1 verify "$work/quote.json" --nonce 0badc0de --ak "$work/ak.pem" --ca "$work/ca.pem"
  vtpmd 0 stop
  printf '\n$ tpm2_pcrextend -T <platform TPM> 7:sha256=...   # the platform changes\n'
  tpm2_pcrextend -T "$SHYPE_VTPM_PLATFORM_TCTI" "7:sha256=$one"
  vtpmd 1 start
  run 0 ls "$saved"
  stop_vtpm
fi

printf '\ndemo: every decision was the expected one\n'
