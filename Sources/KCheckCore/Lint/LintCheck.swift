/// What `kcheck lint` looks for: a closed set, each with its documentation in one switch.
public enum LintCheck: String, CaseIterable, Sendable {
    case envSyntax = "env.syntax"
    case envMissing = "env.missing-variable"
    case envNodeLists = "env.node-lists"
    case envEtcdEndpoints = "env.etcd-endpoints"
    case envEtcdNodes = "env.etcd-nodes"
    case envServiceIPs = "env.service-ips"
    case envRanges = "env.ranges-overlap"
    case envNodePortRange = "env.node-port-range"
    case envDNSDomain = "env.dns-domain"
    case envAPIServer = "env.kube-apiserver"
    case envBootstrapToken = "env.bootstrap-token"
    case envEncryptionKey = "env.encryption-key"
    case envComputed = "env.computed"
    case envPublishedSecret = "env.published-secret"
    case envRuntimeDirs = "env.runtime-dirs"
    case sysctlUnparsable = "sysctl.unparsable"
    case sysctlTwoSettings = "sysctl.two-settings"
    case sysctlDuplicate = "sysctl.duplicate"
    case sysctlUnknownKey = "sysctl.unknown-key"
    case sysctlProfileValue = "sysctl.profile-value"
    case hostsSyntax = "hosts.syntax"
    case hostsNameTwoAddresses = "hosts.name-two-addresses"
    case hostsAddressTwoNames = "hosts.address-two-names"
    case hostsInventory = "hosts.inventory"
    case fstabSwap = "fstab.swap"
    case jsonSyntax = "json.syntax"
    case caConfig = "ca.config"
    case caCSR = "ca.csr"
    case clean = "lint.clean"
    case readable = "lint.readable"
    case more = "lint.more"

    public var title: String {
        switch self {
        case .envSyntax: "environment.sh is valid bash"
        case .envMissing: "environment.sh sets every variable the guide uses"
        case .envNodeLists: "NODE_IPS and NODE_NAMES pair up: equal length, valid, no duplicates"
        case .envEtcdEndpoints: "ETCD_ENDPOINTS is https://IP:2379 for each node, in order"
        case .envEtcdNodes: "ETCD_NODES pairs each name with its own node's IP"
        case .envServiceIPs: "the service IPs lie in SERVICE_CIDR"
        case .envRanges: "SERVICE_CIDR, CLUSTER_CIDR and the nodes' addresses do not overlap"
        case .envNodePortRange: "NODE_PORT_RANGE is a valid port range"
        case .envDNSDomain: "CLUSTER_DNS_DOMAIN has no trailing dot"
        case .envAPIServer: "KUBE_APISERVER is an https URL"
        case .envBootstrapToken: "BOOTSTRAP_TOKEN is 32 hex digits"
        case .envEncryptionKey: "ENCRYPTION_KEY is generated once and kept"
        case .envComputed: "values are written out, not computed at every source"
        case .envPublishedSecret: "no secret is copied from the guide"
        case .envRuntimeDirs: "one of DOCKER_DIR and CONTAINERD_DIR"
        case .sysctlUnparsable: "every sysctl line is an assignment"
        case .sysctlTwoSettings: "one setting per sysctl line"
        case .sysctlDuplicate: "each kernel parameter is set in one place"
        case .sysctlUnknownKey: "the kernel has every key that is set"
        case .sysctlProfileValue: "values match the guide's profile"
        case .hostsSyntax: "every /etc/hosts line is an address and names"
        case .hostsNameTwoAddresses: "no name maps to two addresses"
        case .hostsAddressTwoNames: "no address maps to contradicting names"
        case .hostsInventory: "/etc/hosts maps every node as the inventory says"
        case .fstabSwap: "no active swap entry in /etc/fstab"
        case .jsonSyntax: "the file is well-formed JSON"
        case .caConfig: "ca-config.json is as documented"
        case .caCSR: "ca-csr.json is as documented"
        case .clean: "the file is lint-clean"
        case .readable: "the file can be read"
        case .more: "findings past the first \(Linter.maxFindingsPerFile) of a file are counted, not listed"
        }
    }

    public var severity: Severity {
        switch self {
        case .envSyntax, .envEtcdNodes, .envEtcdEndpoints, .envNodeLists, .envPublishedSecret, .jsonSyntax: .critical
        case .envMissing, .envServiceIPs, .envRanges, .envAPIServer, .envBootstrapToken, .envEncryptionKey,
            .sysctlTwoSettings, .sysctlDuplicate, .sysctlProfileValue, .hostsNameTwoAddresses, .hostsAddressTwoNames,
            .hostsInventory, .fstabSwap, .caConfig, .caCSR:
            .high
        case .envNodePortRange, .envDNSDomain, .sysctlUnparsable, .sysctlUnknownKey, .hostsSyntax, .more: .medium
        case .readable: .high
        case .envRuntimeDirs, .envComputed, .clean: .low
        }
    }

    /// DOCUMENTED-STATE items.
    public var guide: [Int] {
        switch self {
        case .envSyntax, .envMissing, .envNodeLists, .envEtcdEndpoints, .envEtcdNodes, .envServiceIPs, .envRanges,
            .envNodePortRange, .envDNSDomain, .envAPIServer, .envBootstrapToken, .envEncryptionKey, .envPublishedSecret,
            .envRuntimeDirs, .envComputed:
            [30]
        case .sysctlUnparsable, .sysctlTwoSettings, .sysctlDuplicate, .sysctlUnknownKey, .sysctlProfileValue: [14]
        case .hostsSyntax, .hostsNameTwoAddresses, .hostsAddressTwoNames, .hostsInventory: [1, 2]
        case .fstabSwap: [10]
        case .jsonSyntax, .caConfig: [17]
        case .caCSR: [18]
        case .clean, .readable, .more: []
        }
    }

    public var remediation: String {
        switch self {
        case .envSyntax: "Fix the bash syntax at the line and column given."
        case .envMissing: "Set the variable as the guide's environment.sh does."
        case .envNodeLists: "List one address per node in NODE_IPS and its name at the same position in NODE_NAMES."
        case .envEtcdEndpoints: "Set ETCD_ENDPOINTS to the expected value given."
        case .envEtcdNodes: "Set ETCD_NODES to the expected value given: each name with its own node's IP."
        case .envServiceIPs: "Use the first address of SERVICE_CIDR for CLUSTER_KUBERNETES_SVC_IP and another address in it for CLUSTER_DNS_SVC_IP."
        case .envRanges: "Choose unused ranges for SERVICE_CIDR and CLUSTER_CIDR, apart from each other and from the nodes' network."
        case .envNodePortRange: "Write it as LOW-HIGH with 1 <= LOW < HIGH <= 65535, as 30000-32767."
        case .envDNSDomain: "Drop the trailing dot: cluster.local"
        case .envAPIServer: "Write it as https://HOST:PORT, as https://127.0.0.1:8443."
        case .envBootstrapToken: "Generate one: head -c 16 /dev/urandom | od -An -t x | tr -d ' '"
        case .envEncryptionKey: "Generate the key once (head -c 32 /dev/urandom | base64) and write the value itself into environment.sh, the same on every node."
        case .envComputed: "Run the command once and write its output into environment.sh, so that every step and every node sees the same value."
        case .envPublishedSecret: "Generate a new value; the guide's is public."
        case .envRuntimeDirs: "Keep the one for the container runtime you install (containerd in the guide)."
        case .sysctlUnparsable: "Write key = value, or comment the line out with #."
        case .sysctlTwoSettings: "Put each setting on its own line."
        case .sysctlDuplicate: "Set each key in one file only (/etc/sysctl.d/kubernetes.conf)."
        case .sysctlUnknownKey: "Load the module that provides the key, or delete the line if the kernel no longer has it."
        case .sysctlProfileValue: "Set the value the guide documents (kcheck rules show sysctl.KEY)."
        case .hostsSyntax: "Write ADDRESS NAME [ALIAS…], or comment the line out."
        case .hostsNameTwoAddresses: "Keep one line per name; the guide's `cat >> /etc/hosts` appends a second block when run twice."
        case .hostsAddressTwoNames: "Keep one canonical name per address."
        case .hostsInventory: "Map every NODE_IPS[i] to NODE_NAMES[i] in /etc/hosts on every node."
        case .fstabSwap: "Comment out the swap lines (tab-separated ones too)."
        case .jsonSyntax: "Fix the JSON at the line and column given."
        case .caConfig: "Write ca-config.json as the guide documents: default expiry 87600h; profile kubernetes with signing, key encipherment, server auth, client auth and expiry 876000h."
        case .caCSR: "Write ca-csr.json as the guide documents: CN kubernetes-ca; RSA 2048; C=CN, ST=BeiJing, L=BeiJing, O=k8s, OU=opsnull; CA expiry 876000h."
        case .clean: ""
        case .readable: "Make it a regular file of at most 4 MiB that root can read, or remove it."
        case .more: "Fix the findings listed, then lint again to see the rest."
        }
    }

    public var subject: Report.Subject {
        Report.Subject(id: rawValue, title: title, severity: severity, guide: guide, remediation: remediation)
    }
}

/// One problem in one file.
public struct Finding: Equatable, Sendable {
    public let check: LintCheck
    /// fail, or warn for what is legal but risky.
    public let status: Status
    public let location: SourceLocation
    public let column: Int?
    public let message: String

    public init(_ check: LintCheck, _ status: Status = .fail, at location: SourceLocation, column: Int? = nil, _ message: String) {
        self.check = check
        self.status = status
        self.location = location
        self.column = column
        self.message = message
    }

    public var place: String { column.map { "\(location):\($0)" } ?? location.description }
}
