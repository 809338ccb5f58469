import KCheckNative

/// What a node must make anew because a cluster rule found it holds another node's copy: the
/// rule, the identity fact, the copied value (as the rule compares it) and where it was read.
/// Sent with the plan to the node, which builds the same actions from it and its own files.
public struct IdentityRenewal: Equatable, Sendable {
    public let rule: String
    public let fact: IdentityFact
    public let value: String
    public let path: String

    public init(rule: String, fact: IdentityFact, value: String, path: String) {
        self.rule = rule
        self.fact = fact
        self.value = value
        self.path = path
    }
}

/// `kcheck fix --cluster` / `--hosts`: each node's own plan, and the part of the cluster rules a
/// node can take: a machine-id or SSH host keys copied from another node are made anew on every
/// node but the first that holds them (the inventory's order). product_uuid and MAC addresses
/// belong to the hypervisor: they stay in the plan's manual part, with the exact instruction.
public enum ClusterFix {
    public struct MemberPlan {
        public let member: ClusterMember
        public let plan: Plan
        /// The node's report the plan was built from.
        public let report: Report
        /// The cluster rules' share of the plan (its last actions).
        public let renewals: [IdentityRenewal]
    }

    /// Every reachable member's plan; the unreachable ones with their reason. Each node is judged
    /// with `inventory` (--env) or its own. A rule a waiver holds for on a node is left as it is
    /// there (its result is `waived`; the plan has nothing for it).
    public static func plans(
        _ members: [ClusterMember], profile: Profile, selection: Set<String>?, inventory: Inventory?, policy: FailurePolicy,
        waivers: [Waiver] = [], now: Int64 = 0
    ) -> (plans: [MemberPlan], unreachable: [(label: String, problem: String)]) {
        var judged: [(label: String, evaluator: Evaluator, member: ClusterMember)] = []
        var reports: [String: Report] = [:]
        var unreachable: [(String, String)] = []
        for member in members {
            guard let node = member.node else {
                unreachable.append((member.label, member.problem ?? "unreachable"))
                continue
            }
            let (judgedReport, evaluator) = Engine.evaluate(
                profile: profile, on: node, command: "fix", policy: policy, only: selection, inventory: inventory ?? Inventory.load(from: node))
            judged.append((member.label, evaluator, member))
            reports[member.label] = Waivers.apply(
                waivers, to: judgedReport, names: Set([member.label, judgedReport.node.name] + (member.host.map { [$0] } ?? [])), now: now)
        }
        var renewals: [String: [IdentityRenewal]] = [:]
        var manual: [String: [(rule: String, instructions: String)]] = [:]
        let waivedClusterRules = Waivers.active(waivers, names: [], now: now)
        for rule in profile.clusterRules where (selection == nil || selection!.contains(rule.id)) && !waivedClusterRules.contains(rule.id) {
            guard case .unique(let fact) = rule.check, judged.count >= 2 else { continue }
            let result = ClusterEngine.judge(rule, judged, unreachable: unreachable.map(\.0), profile: profile, inventory: inventory)
            guard case .sharedIdentity(let shared)? = result.observation else { continue }
            for copy in shared.copies {
                for label in copy.holders.dropFirst() {
                    if fact.renewedByFix {
                        renewals[label, default: []].append(IdentityRenewal(rule: rule.id, fact: fact, value: copy.value, path: copy.path))
                    } else {
                        manual[label, default: []].append((rule.id, "\(copy.path) is \(copy.holders[0])'s \(copy.value): \(rule.remediation)"))
                    }
                }
            }
        }
        let plans = judged.map { label, evaluator, member in
            let own = renewals[label] ?? []
            let plan = self.plan(Planner(evaluator: evaluator).plan(reports[label]!, profile: profile), renewals: own, node: evaluator.facts.node)
            return MemberPlan(
                member: member, plan: Plan(actions: plan.actions, manual: plan.manual + (manual[label] ?? [])), report: reports[label]!, renewals: own)
        }
        return (plans, unreachable)
    }

    /// A node's own plan with the actions its renewals ask for appended: the same on the
    /// operator's machine (from the node's recording) and on the node (from its files), so that
    /// the node applies the plan shown only while it still is as seen.
    public static func plan(_ own: Plan, renewals: [IdentityRenewal], node: Node) -> Plan {
        var actions = own.actions
        var manual = own.manual
        for renewal in renewals where renewal.fact == .machineID {
            actions.append(
                PlannedAction(
                    .newMachineID(replacing: renewal.value), rules: [renewal.rule],
                    note: "journald, dbus and DHCP clients read the machine-id at start: reboot the node", needsReboot: true))
        }
        var keys: [SSHHostKeyRenewal] = []
        var rules: [String] = []
        for renewal in renewals where renewal.fact == .sshHostKeys {
            guard renewal.path.hasSuffix(".pub"), case .content(let bytes) = node.read(renewal.path, limit: 64 << 10),
                let type = SSHHostKey.KeyType(publicLine: String(String(decoding: bytes, as: UTF8.self).trimmed))
            else {
                manual.append((renewal.rule, "\(renewal.path) (\(renewal.value)) is a key type kcheck does not make: remove the key and its .pub, run ssh-keygen -A, restart sshd"))
                continue
            }
            keys.append(SSHHostKeyRenewal(path: String(renewal.path.dropLast(4)), type: type, replacing: renewal.value))
            if !rules.contains(renewal.rule) { rules.append(renewal.rule) }
        }
        if !keys.isEmpty {
            actions.append(
                PlannedAction(
                    .newSSHHostKeys(keys, reload: sshUnit(node)), rules: rules,
                    note: "every machine that logged in to this node knows its old host key: run `ssh-keygen -R HOST` there (root on the first node too) before the next login"))
        }
        return Plan(actions: actions, manual: manual)
    }

    /// The SSH daemon's unit: ssh.service (Debian), sshd.service (CentOS); nil when neither is
    /// installed (the keys take effect when the daemon next starts).
    static func sshUnit(_ node: Node) -> String? {
        let units = UnitFiles(node: node)
        return ["ssh.service", "sshd.service"].first { units.state(of: $0) != .notFound }
    }

    /// What `plan(_:renewals:node:)` reads of a node, read now, so that a recording holds it.
    static func readFacts(_ node: Node) {
        _ = sshUnit(node)
    }
}
