#if canImport(Glibc)
import Glibc
#endif

/// Temporary directories removed when the process is stopped by SIGINT, SIGTERM or SIGHUP, not
/// only on a normal exit. Once `install` runs, those signals are blocked in this thread and every
/// thread started after it, and one thread waits for them with sigwait(2): it removes the
/// registered directories (in a normal thread, where removing a tree is safe, unlike in a signal
/// handler) and ends the process as the signal would have (exit status 128 + the signal). Children
/// started with `Posix.run` get the default mask and handlers back, so ssh still stops on Ctrl-C.
public enum SignalCleanup {
    nonisolated(unsafe) private static var directories: [String] = []
    nonisolated(unsafe) private static var lock = pthread_mutex_t()
    nonisolated(unsafe) private static var installed = false
    nonisolated(unsafe) private static var children: Set<pid_t> = []
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The signal set kcheck blocks.
    static func set() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    /// Starts the waiting thread (once). Call it before starting threads that should not take
    /// the signals themselves.
    public static func install() {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard !installed else { return }
        installed = true
        var blocked = set()
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { _ in
            var waitFor = SignalCleanup.set()
            var signal: Int32 = 0
            while sigwait(&waitFor, &signal) != 0 {}
            SignalCleanup.stopChildren(signal)
            SignalCleanup.removeAll()
            // As the signal would have ended it: default action, unblocked, raised again.
            Glibc.signal(signal, SIG_DFL)
            var one = sigset_t()
            sigemptyset(&one)
            sigaddset(&one, signal)
            pthread_sigmask(SIG_UNBLOCK, &one, nil)
            raise(signal)
            _exit(128 + signal)
        }, nil)
        if started == 0 { pthread_detach(thread) }
    }

    /// Removes `path` (a whole tree) if the process is stopped by a signal.
    public static func register(_ path: String) {
        pthread_mutex_lock(&lock)
        directories.append(path)
        pthread_mutex_unlock(&lock)
    }

    /// `path` was removed (or kept) by the program itself.
    public static func unregister(_ path: String) {
        pthread_mutex_lock(&lock)
        directories.removeAll { $0 == path }
        pthread_mutex_unlock(&lock)
    }

    /// A child kcheck started (ssh, a package manager): passed the signal that stops kcheck.
    static func started(_ pid: pid_t) {
        pthread_mutex_lock(&lock)
        children.insert(pid)
        pthread_mutex_unlock(&lock)
    }

    static func ended(_ pid: pid_t) {
        pthread_mutex_lock(&lock)
        children.remove(pid)
        pthread_mutex_unlock(&lock)
    }

    static func stopChildren(_ signal: Int32) {
        pthread_mutex_lock(&lock)
        let all = children
        pthread_mutex_unlock(&lock)
        for pid in all { kill(pid, signal) }
    }

    static func removeAll() {
        pthread_mutex_lock(&lock)
        let all = directories
        directories = []
        pthread_mutex_unlock(&lock)
        for directory in all { Posix.removeTree(directory) }
    }

    /// For children: the default mask and handlers, whatever kcheck blocked.
    static func childAttributes(_ attributes: inout posix_spawnattr_t) {
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = set()
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }
}
