#!/usr/bin/bash

# 生成 EncryptionConfig 所需的加密 key: generated once, kept here
export ENCRYPTION_KEY="GgQtyzzHnARQUJLh+D/ReqeFpRptTuvdw1CxdmZcynY="

# 集群各机器 IP 数组
export NODE_IPS=(
  192.168.7.200   # k8s-node01
  192.168.7.201   # k8s-node02
  192.168.7.202   # k8s-node03
)
export NODE_NAMES=(k8s-node01 k8s-node02 k8s-node03)

export ETCD_ENDPOINTS="https://${NODE_IPS[0]}:2379,https://${NODE_IPS[1]}:2379,https://${NODE_IPS[2]}:2379"
export ETCD_NODES='k8s-node01=https://192.168.7.200:2380,k8s-node02=https://192.168.7.201:2380,k8s-node03=https://192.168.7.202:2380'
export KUBE_APISERVER="https://127.0.0.1:8443"
export IFACE=ens33

export ETCD_DATA_DIR="/data/k8s/etcd/data"
export ETCD_WAL_DIR="/data/k8s/etcd/wal"
export K8S_DIR="/data/k8s/k8s"
export CONTAINERD_DIR="/data/k8s/containerd"

BOOTSTRAP_TOKEN="34e544f507e1e2329f926a18bd5633dd"
SERVICE_CIDR="10.254.0.0/16"
CLUSTER_CIDR="172.30.0.0/16"
export NODE_PORT_RANGE="30000-32767"
export CLUSTER_KUBERNETES_SVC_IP="10.254.0.1"
export CLUSTER_DNS_SVC_IP="10.254.0.2"
export CLUSTER_DNS_DOMAIN="cluster.local"
export PATH=/opt/k8s/bin:$PATH
