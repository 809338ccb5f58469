import Dispatch

/// Work spread over the machine's cores.
public enum Parallel {
    /// `transform` applied to every item, on as many threads as there are cores; results in the
    /// items' order. For pure work on values (parsing certificates), never for work on a node.
    /// Fewer than `threshold` items are done on this thread: starting workers costs more than a
    /// few items (a node's dozen certificates).
    public static func map<T: Sendable, U: Sendable>(_ items: [T], threshold: Int = 32, _ transform: @Sendable (T) -> U) -> [U] {
        if items.count < max(threshold, 2) { return items.map(transform) }
        let slots = Slots<U>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: items.count) { i in slots.set(i, transform(items[i])) }
        return slots.values()
    }
}

/// One slot per item, each written by exactly one iteration of `concurrentPerform` and read after
/// it returns: no two threads touch the same slot, and the join orders the writes before the read.
private final class Slots<U>: @unchecked Sendable {
    private var storage: UnsafeMutableBufferPointer<U?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    func set(_ index: Int, _ value: U) { storage[index] = value }

    func values() -> [U] { storage.map { $0! } }
}
