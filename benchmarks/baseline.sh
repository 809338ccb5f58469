#!/usr/bin/env bash
# The baseline kcheck is measured against: the guide node profile's 51 checks written as a plain
# shell script, the way an operator would, with cat, grep, sysctl, systemctl and openssl. It only
# reads (environment.sh is read with sed, never sourced).
#   ROOT unset: the live node (sysctl, systemctl, dpkg-query/rpm);  ROOT=DIR: a node tree (cat, grep).
# It prints one PASS/FAIL line per check and exits 1 if any failed.
set -u
R=${ROOT:-}
fails=0
check() { if [ "$2" = ok ]; then echo "PASS $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi; }

sysctl_value() { # running value
  if [ -z "$R" ]; then sysctl -n "$1" 2>/dev/null; else cat "$R/proc/sys/$(echo "$1" | tr . /)" 2>/dev/null; fi
}
persisted_value() { # last assignment in the sysctl.d files, then sysctl.conf
  grep -h -E "^[[:space:]]*-?$1[[:space:]]*=" "$R"/usr/lib/sysctl.d/*.conf "$R"/run/sysctl.d/*.conf \
    "$R"/etc/sysctl.d/*.conf "$R"/etc/sysctl.conf 2>/dev/null | tail -n 1 | sed 's/^[^=]*=[[:space:]]*//; s/[[:space:]].*//'
}
for kv in net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 net.ipv4.ip_forward=1 \
  net.ipv4.tcp_tw_recycle=0 net.ipv4.neigh.default.gc_thresh1=1024 net.ipv4.neigh.default.gc_thresh2=2048 \
  net.ipv4.neigh.default.gc_thresh3=4096 vm.swappiness=0 vm.overcommit_memory=1 vm.panic_on_oom=0 \
  fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=1048576 fs.file-max=52706963 \
  fs.nr_open=52706963 net.ipv6.conf.all.disable_ipv6=1 net.netfilter.nf_conntrack_max=2310720; do
  key=${kv%%=*}; want=${kv#*=}
  if [ "$(sysctl_value "$key")" = "$want" ] && [ "$(persisted_value "$key")" = "$want" ]; then check "$key" ok; else check "$key" no; fi
done

[ "$(grep -vc '^Filename' "$R/proc/swaps")" = 0 ] && check swap.off ok || check swap.off no
grep -E '^[^#]*[[:space:]]swap[[:space:]]' "$R/etc/fstab" >/dev/null && check swap.fstab no || check swap.fstab ok
[ "$(cat "$R/sys/fs/selinux/enforce" 2>/dev/null)" = 1 ] && check selinux.not-enforcing no || check selinux.not-enforcing ok
grep -q '^SELINUX=disabled' "$R/etc/selinux/config" 2>/dev/null && check selinux.config ok || check selinux.config no
major_minor=$(cut -d. -f1,2 "$R/proc/sys/kernel/osrelease")
[ "$(printf '%s\n4.4\n' "$major_minor" | sort -V | head -n1)" = 4.4 ] && check kernel.version ok || check kernel.version no
{ [ -d "$R/sys/module/br_netfilter" ] || [ -d "$R/proc/sys/net/bridge" ]; } && check br_netfilter.loaded ok || check br_netfilter.loaded no
grep -qs '^br_netfilter' "$R"/etc/modules-load.d/*.conf && check br_netfilter.boot ok || check br_netfilter.boot no

if grep -qs '^ID=.*debian\|^ID_LIKE=.*debian\|^ID=ubuntu' "$R/etc/os-release"; then chrony=chrony cron=cron; else chrony=chronyd cron=crond; fi
service_state() { # active|inactive, enabled|disabled
  if [ -z "$R" ]; then echo "$(systemctl is-active "$1" 2>/dev/null) $(systemctl is-enabled "$1" 2>/dev/null)"
  else echo "$(grep "^unit $1.service " "$R/.kcheck/facts" | cut -d' ' -f3) $(ls "$R"/etc/systemd/system/*.wants/"$1".service >/dev/null 2>&1 && echo enabled)"; fi
}
for off in firewalld postfix; do
  case "$(service_state $off)" in *active\ *enabled*|active*) check "service.$off" no ;; *) check "service.$off" ok ;; esac
done
case "$(service_state $chrony)" in "active enabled") check service.chronyd ok ;; *) check service.chronyd no ;; esac
for on in rsyslog $cron; do case "$(service_state $on)" in active*) check "service.$on" ok ;; *) check "service.$on" no ;; esac; done

if [ -z "$R" ]; then
  timedatectl show -p NTPSynchronized --value 2>/dev/null | grep -q yes && check time.ntp ok || check time.ntp no
else
  grep -q 'status=8193' "$R/.kcheck/facts" && check time.ntp ok || check time.ntp no
fi
readlink "$R/etc/localtime" | grep -q 'Asia/Shanghai$' && check time.timezone ok || check time.timezone no
grep -qs LOCAL "$R/etc/adjtime" && check time.rtc no || check time.rtc ok

missing=0
for p in chrony ipvsadm ipset jq iptables curl sysstat wget socat git; do
  if [ -z "$R" ]; then
    if command -v dpkg-query >/dev/null; then dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing=1
    else rpm -q "$p" >/dev/null 2>&1 || missing=1; fi
  elif [ -f "$R/var/lib/dpkg/status" ]; then grep -q "^Package: $p\$" "$R/var/lib/dpkg/status" || missing=1
  else grep -q "^package $p\$" "$R/.kcheck/facts" || missing=1; fi
done
[ $missing = 0 ] && check packages ok || check packages no

for d in /opt/k8s/bin /opt/k8s/work /etc/kubernetes/cert /etc/etcd/cert; do [ -d "$R$d" ] && check "dir $d" ok || check "dir $d" no; done
[ -x "$R/opt/k8s/bin/environment.sh" ] && check environment.sh ok || check environment.sh no
grep -qE '^[[:space:]]*(export[[:space:]]+)?PATH=.*/opt/k8s/bin' "$R/root/.bashrc" 2>/dev/null && check root-path ok || check root-path no

# The inventory (environment.sh, read with sed, never sourced; arrays on one line or several).
env="$R/opt/k8s/bin/environment.sh"
array() { sed -n "/^export $1=(/,/)/{s/#.*//; s/.*(//; s/).*//; p}" "$env" | tr -s ' \n\t' '   '; }
ips="" names=""
if [ -f "$env" ]; then
  ips=$(array NODE_IPS); names=$(array NODE_NAMES)
  if [ -z "$R" ]; then host=$(hostname); else host=$(cat "$R/proc/sys/kernel/hostname"); fi
  echo " $names " | grep -q " $host " && check inventory.hostname ok || check inventory.hostname no
  hosts=ok; set -- $names
  for ip in $ips; do grep -qE "^$ip[[:space:]]+$1([[:space:]]|\$)" "$R/etc/hosts" || hosts=no; shift; done
  check inventory.hosts $hosts
  bash -n "$env" 2>/dev/null && check inventory.lint-clean ok || check inventory.lint-clean no
fi

# The root CA and the certificates: one openssl x509 per certificate for all it prints (dates,
# subject, usages, SANs, public key), one openssl verify, one openssl pkey per key.
c=$R/etc/kubernetes/cert
pubkey() { sed -n '/BEGIN PUBLIC KEY/,/END PUBLIC KEY/p'; }
if [ -f "$c/ca.pem" ]; then
  grep -q '"876000h"' "$c/ca-config.json" && grep -q 'server auth' "$c/ca-config.json" && check pki.ca-config ok || check pki.ca-config no
  ca=$(openssl x509 -in "$c/ca.pem" -noout -checkend 0 -subject -ext basicConstraints,keyUsage -pubkey 2>/dev/null) && ca_valid=ok || ca_valid=no
  { [ $ca_valid = ok ] && echo "$ca" | grep -q 'CA:TRUE' && echo "$ca" | grep -q 'CN = kubernetes-ca'; } && check pki.ca-certificate ok || check pki.ca-certificate no
  { [ "$(echo "$ca" | pubkey)" = "$(openssl pkey -in "$c/ca-key.pem" -pubout)" ] && [ "$(stat -c %a "$c/ca-key.pem")" = 600 ]; } &&
    check pki.ca-key ok || check pki.ca-key no
  valid=ok issuer=ok usage=ok keys=ok subjects="" etcd_sans="" api_sans=""
  for f in "$c"/*.pem "$R"/etc/etcd/cert/*.pem; do
    case "$f" in *-key.pem) continue ;; esac
    info=$(openssl x509 -in "$f" -noout -checkend 2592000 -subject -ext extendedKeyUsage,subjectAltName -pubkey 2>/dev/null) || valid=no
    openssl verify -CAfile "$c/ca.pem" "$f" >/dev/null 2>&1 || issuer=no
    case "$f" in */ca.pem) ;; *) echo "$info" | grep -q 'Auth' || usage=no ;; esac
    k=${f%.pem}-key.pem
    if [ -f "$k" ]; then [ "$(echo "$info" | pubkey)" = "$(openssl pkey -in "$k" -pubout)" ] || keys=no; fi
    subjects="$subjects$(echo "$info" | grep '^subject=')
"
    case "$f" in */etcd.pem) etcd_sans=$info ;; */kubernetes.pem) api_sans=$info ;; esac
  done
  check pki.certificates-valid $valid; check pki.certificates-issuer $issuer; check pki.certificates-usage $usage
  check pki.certificates-key $keys
  [ -z "$(printf '%s' "$subjects" | sort | uniq -d)" ] && check pki.unique-subjects ok || check pki.unique-subjects no
  sans=ok; for ip in 127.0.0.1 $ips; do echo "$etcd_sans" | grep -q "IP Address:$ip\(,\|\$\)" || sans=no; done; check pki.etcd-sans $sans
  sans=ok; for ip in $ips; do [ -z "$api_sans" ] || echo "$api_sans" | grep -q "IP Address:$ip\(,\|\$\)" || sans=no; done; check pki.apiserver-sans $sans
fi

echo "$fails failed"
[ $fails = 0 ]
