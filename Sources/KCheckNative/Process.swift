#if canImport(Glibc)
import Glibc
#endif

/// What a finished child process printed and how it ended.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let standardOutput: [UInt8]
}

extension Posix {
    /// posix_spawnp with the default signal mask and handlers for the child, and the child
    /// registered for `SignalCleanup` (the caller calls `SignalCleanup.ended` after waiting).
    private static func spawn(
        _ pid: inout pid_t, _ program: String, _ actions: inout posix_spawn_file_actions_t,
        _ argv: [UnsafeMutablePointer<CChar>?], _ environment: UnsafePointer<UnsafeMutablePointer<CChar>?>
    ) -> Int32 {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        SignalCleanup.childAttributes(&attributes)
        let rc = posix_spawnp(&pid, program, &actions, &attributes, argv, environment)
        if rc == 0 { SignalCleanup.started(pid) }
        return rc
    }

    /// Runs `argv` directly (posix_spawn, no shell, PATH searched for argv[0]), with standard input
    /// from /dev/null and standard error discarded; collects at most `limit` bytes of output.
    /// `environment` entries (NAME=value) are added to the inherited environment.
    public static func run(_ argv: [String], environment: [String] = [], limit: Int = 4 << 20) -> Result<ProcessOutput, SystemError> {
        precondition(!argv.isEmpty, "argv must name a program")
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { return .failure(SystemError("pipe", "", code: errno)) }
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else {
            close(pipeFDs[0]); close(pipeFDs[1])
            return .failure(SystemError("posix_spawn_file_actions_init", "", code: errno))
        }
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        var pid = pid_t()
        var cEnvironment: [UnsafeMutablePointer<CChar>?] = []
        var index = 0
        while let entry = environ[index] {
            cEnvironment.append(strdup(entry))
            index += 1
        }
        cEnvironment += environment.map { strdup($0) }
        cEnvironment.append(nil)
        defer { for p in cEnvironment { free(p) } }
        let rc = spawn(&pid, argv[0], &actions, cArgs, cEnvironment)
        defer { if rc == 0 { SignalCleanup.ended(pid) } }
        close(pipeFDs[1])
        guard rc == 0 else {
            close(pipeFDs[0])
            return .failure(SystemError("spawn", argv[0], code: rc))
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if output.count < limit { output.append(contentsOf: chunk[0..<min(n, limit - output.count)]) }
        }
        close(pipeFDs[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .failure(SystemError("waitpid", argv[0], code: errno)) }
        }
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return .success(ProcessOutput(status: exitCode, standardOutput: output))
    }
}

/// What a finished child process printed on both streams and how it ended.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let standardOutput: [UInt8]
    public let standardError: [UInt8]
    /// The process was killed for running past its time limit.
    public let timedOut: Bool
}

extension Posix {
    /// Runs `argv` directly (posix_spawnp, no shell) with `input` on its standard input, collecting
    /// at most `limit` bytes of standard output and 64 KiB of standard error, and killing it after
    /// `timeoutSeconds`. Both streams are read as they come (poll), so neither can block the child.
    public static func run(
        _ argv: [String], input: [UInt8], limit: Int = 256 << 20, timeoutSeconds: Int = 120
    ) -> Result<ProcessResult, SystemError> {
        precondition(!argv.isEmpty, "argv must name a program")
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        guard pipe(&stdinPipe) == 0 else { return .failure(SystemError("pipe", "", code: errno)) }
        guard pipe(&stdoutPipe) == 0 else {
            close(stdinPipe[0]); close(stdinPipe[1])
            return .failure(SystemError("pipe", "", code: errno))
        }
        guard pipe(&stderrPipe) == 0 else {
            for fd in stdinPipe + stdoutPipe { close(fd) }
            return .failure(SystemError("pipe", "", code: errno))
        }
        for fd in stdinPipe + stdoutPipe + stderrPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        guard posix_spawn_file_actions_init(&actions) == 0 else {
            for fd in stdinPipe + stdoutPipe + stderrPipe { close(fd) }
            return .failure(SystemError("posix_spawn_file_actions_init", "", code: errno))
        }
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        var pid = pid_t()
        let rc = spawn(&pid, argv[0], &actions, cArgs, environ)
        defer { if rc == 0 { SignalCleanup.ended(pid) } }
        close(stdinPipe[0]); close(stdoutPipe[1]); close(stderrPipe[1])
        guard rc == 0 else {
            close(stdinPipe[1]); close(stdoutPipe[0]); close(stderrPipe[0])
            return .failure(SystemError("spawn", argv[0], code: rc))
        }
        // The input is written as the child reads it, in the same loop that reads its output and
        // keeps the deadline: a child that never reads (or a stalled connection) cannot block us,
        // and one that writes before it reads cannot deadlock with us. A closed pipe (the child
        // exited) ends the writing, not the run.
        signal(SIGPIPE, SIG_IGN)
        var inputFD: Int32 = stdinPipe[1]
        _ = fcntl(inputFD, F_SETFL, fcntl(inputFD, F_GETFL) | O_NONBLOCK)
        var written = 0
        if input.isEmpty {
            close(inputFD)
            inputFD = -1
        }
        var output: [UInt8] = [], errors: [UInt8] = []
        var open: [Int32] = [stdoutPipe[0], stderrPipe[0]]
        let deadline = monotonicNanoseconds() + UInt64(timeoutSeconds) * 1_000_000_000
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            let now = monotonicNanoseconds()
            if now >= deadline {
                timedOut = true
                kill(pid, SIGKILL)
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if inputFD >= 0 { fds.append(pollfd(fd: inputFD, events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min((deadline - now) / 1_000_000, 1000)))
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for entry in fds where entry.revents != 0 {
                if entry.fd == inputFD {
                    let n = input.withUnsafeBytes { raw in
                        Glibc.write(inputFD, raw.baseAddress! + written, min(raw.count - written, 65536))
                    }
                    if n > 0 { written += n }
                    if (n < 0 && errno != EAGAIN && errno != EINTR) || written >= input.count {
                        close(inputFD)
                        inputFD = -1
                    }
                    continue
                }
                let n = chunk.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    open.removeAll { $0 == entry.fd }
                    continue
                }
                if entry.fd == stdoutPipe[0] {
                    if output.count < limit { output.append(contentsOf: chunk[0..<min(n, limit - output.count)]) }
                } else if errors.count < 65536 {
                    errors.append(contentsOf: chunk[0..<min(n, 65536 - errors.count)])
                }
            }
        }
        if inputFD >= 0 { close(inputFD) }
        close(stdoutPipe[0]); close(stderrPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .failure(SystemError("waitpid", argv[0], code: errno)) }
        }
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return .success(ProcessResult(status: exitCode, standardOutput: output, standardError: errors, timedOut: timedOut))
    }
}
