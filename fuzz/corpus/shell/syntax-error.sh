export NODE_IPS=(192.168.7.200 192.168.7.201)
export NODE_NAMES=(k8s-node01 k8s-node02)
export ETCD_ENDPOINTS="https://192.168.7.200:2379,https://192.168.7.201:2379
export IFACE=eth0
