import Dispatch
#if canImport(Glibc)
import Glibc
#endif

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

extension Parallel {
    /// `transform` applied to every item by at most `width` threads at once (work that waits, as
    /// SSH does, rather than computes); results in the items' order.
    public static func map<T: Sendable, U: Sendable>(_ items: [T], width: Int, _ transform: @Sendable (T) -> U) -> [U] {
        if items.count < 2 || width < 2 { return items.map(transform) }
        let slots = Slots<U>(count: items.count)
        let next = Counter()
        DispatchQueue.concurrentPerform(iterations: min(width, items.count)) { _ in
            while let i = next.take(below: items.count) { slots.set(i, transform(items[i])) }
        }
        return slots.values()
    }
}

/// The next index to work on, shared by the workers.
private final class Counter: @unchecked Sendable {
    private var value = 0
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }
    func take(below limit: Int) -> Int? {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        guard value < limit else { return nil }
        value += 1
        return value - 1
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
