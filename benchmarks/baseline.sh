#!/usr/bin/env bash
# The baseline kcheck is measured against: the guide node profile's 38 checks written as a plain
# shell script, the way an operator would, with cat, grep, sysctl and systemctl. It only reads.
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

echo "$fails failed"
[ $fails = 0 ]
