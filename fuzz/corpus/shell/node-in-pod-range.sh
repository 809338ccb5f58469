# Node addresses inside CLUSTER_CIDR, a CIDR with host bits, a token computed at every source.
export NODE_IPS=(172.30.0.5 172.30.0.6)
export NODE_NAMES=(a b)
export ETCD_ENDPOINTS="https://172.30.0.5:2379,https://172.30.0.6:2379"
export ETCD_NODES="a=https://172.30.0.5:2380,b=https://172.30.0.6:2380"
export KUBE_APISERVER="https://kube-nginx.local:8443"
export IFACE=eth0 ETCD_DATA_DIR=/d ETCD_WAL_DIR=/w K8S_DIR=/k CONTAINERD_DIR=/c
export ENCRYPTION_KEY='GgQtyzzHnARQUJLh+D/ReqeFpRptTuvdw1CxdmZcynY='
BOOTSTRAP_TOKEN=`head -c 16 /dev/urandom | od -An -t x | tr -d ' '`
SERVICE_CIDR=10.254.0.1/16
CLUSTER_CIDR=172.30.0.0/16
export NODE_PORT_RANGE=30000-32767 CLUSTER_KUBERNETES_SVC_IP=10.254.0.1 CLUSTER_DNS_SVC_IP=10.254.0.2 CLUSTER_DNS_DOMAIN=cluster.local
