#if canImport(Glibc)
import Glibc
#endif

/// What a finished child process printed and how it ended.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let standardOutput: [UInt8]
}

extension Posix {
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
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, cEnvironment)
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
