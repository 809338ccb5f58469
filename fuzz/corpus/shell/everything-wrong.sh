#!/usr/bin/bash
# Every mistake kcheck lint knows in an environment.sh, one per line where it can be.
export NODE_IPS=(192.168.7.200 192.168.7.201 192.168.7.201 192.168.7.300)
export NODE_NAMES=(k8s-node01 k8s-node02 k8s-node03)
export ETCD_ENDPOINTS="https://192.168.7.201:2379,https://192.168.7.200:2379"
export ETCD_NODES="k8s-node01=https://192.168.7.200:2380,k8s-node09=https://192.168.7.201:2380"
export KUBE_APISERVER="http://127.0.0.1:8443"
export IFACE="eth0"
export ETCD_DATA_DIR="/data/k8s/etcd/data"
export ETCD_WAL_DIR="/data/k8s/etcd/wal"
export K8S_DIR="/data/k8s/k8s"
export ENCRYPTION_KEY="c2hvcnQ="
BOOTSTRAP_TOKEN="0123456789abcdef"
SERVICE_CIDR="10.254.0.0/16"
CLUSTER_CIDR="10.254.128.0/17"
export NODE_PORT_RANGE="32767-30000"
export CLUSTER_KUBERNETES_SVC_IP="10.254.0.10"
export CLUSTER_DNS_SVC_IP="10.96.0.10"
export CLUSTER_DNS_DOMAIN="cluster.local."
