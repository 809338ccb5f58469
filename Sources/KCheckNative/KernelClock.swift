import CKernel

#if canImport(Glibc)
import Glibc
#endif

/// The kernel clock discipline's state, as adjtimex(2) reports it.
public struct KernelClockState: Equatable, Sendable {
    public let maxErrorMicroseconds: Int
    public let estimatedErrorMicroseconds: Int
    public let status: Int32
    public let unsynchronisedFlag: Bool

    public init(maxErrorMicroseconds: Int, estimatedErrorMicroseconds: Int, status: Int32, unsynchronisedFlag: Bool) {
        self.maxErrorMicroseconds = maxErrorMicroseconds
        self.estimatedErrorMicroseconds = estimatedErrorMicroseconds
        self.status = status
        self.unsynchronisedFlag = unsynchronisedFlag
    }

    /// The STA_UNSYNC bit of the adjtimex status word.
    public static var unsyncBit: Int32 { kcheck_sta_unsync() }

    /// Reads the live kernel's clock state (a read: modes = 0 changes nothing).
    public static func read() -> Result<KernelClockState, SystemError> {
        var maxError = 0
        var estError = 0
        var status: Int32 = 0
        guard kcheck_read_timex(&maxError, &estError, &status) >= 0 else {
            return .failure(SystemError("adjtimex", "", code: errno))
        }
        return .success(
            KernelClockState(
                maxErrorMicroseconds: maxError, estimatedErrorMicroseconds: estError, status: status,
                unsynchronisedFlag: status & kcheck_sta_unsync() != 0))
    }
}
