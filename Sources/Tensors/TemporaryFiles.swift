#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The temporary files this process is writing (beside their targets, before the rename), so
/// that SIGINT or SIGTERM removes them instead of leaving hidden `.NAME.tmp-PID-N` files behind.
///
/// The registry is a fixed block of C-string slots allocated once: registering copies the path
/// into a free slot under a lock; the signal handler only reads the slots and calls `unlink`
/// (async-signal-safe: no allocation, no lock, no Swift runtime), then restores the default
/// action and raises the signal again, so the process still dies of it (exit status 130/143).
public enum TemporaryFiles {
    /// Slots, and the longest path a slot holds (longer paths are not registered: the stale
    /// sweep of `FileIO.removeStaleTemporaries` still removes them on a later run).
    /// (Literals, repeated in the handler, which reads no Swift global but the slots pointer.)
    public static let slotCount = 128
    static let slotBytes = 4096

    private static let registry = Registry()

    /// Registers `path` for removal on SIGINT/SIGTERM (installing the handler on first use).
    public static func register(_ path: String) {
        registry.add(path)
    }

    /// Forgets `path` (renamed into place or removed).
    public static func release(_ path: String) {
        registry.remove(path)
    }

    /// The paths registered now (for tests).
    public static var registered: [String] { registry.paths }

    final class Registry {
        /// `slotCount` slots of `slotBytes` bytes; a slot is in use when its first byte is not 0.
        let slots = temporarySlots
        /// A heap mutex: its address never moves (an inout property could be a temporary).
        private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private var installed = false

        init() {
            pthread_mutex_init(lock, nil)
        }

        func add(_ path: String) {
            let bytes = Array(path.utf8)
            guard !bytes.isEmpty, bytes.count < TemporaryFiles.slotBytes else { return }
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            if !installed { installHandlers(); installed = true }
            // A free slot; when none is left, one whose file is gone (renamed or removed by a
            // writer that did not release it; a name registered but not yet created could be
            // taken too, which only costs its removal on a signal).
            var gone = stat()
            let free = (0..<TemporaryFiles.slotCount).first { slots[$0 * TemporaryFiles.slotBytes] == 0 }
                ?? (0..<TemporaryFiles.slotCount).first { lstat(slots + $0 * TemporaryFiles.slotBytes, &gone) != 0 }
            guard let s = free else { return }
            let slot = slots + s * TemporaryFiles.slotBytes
            slot[0] = 0
            // The bytes first, the first byte last: the handler never sees half a path.
            for (i, b) in bytes.enumerated().dropFirst() { slot[i] = CChar(bitPattern: b) }
            slot[bytes.count] = 0
            slot[0] = CChar(bitPattern: bytes[0])
        }

        func remove(_ path: String) {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            for s in 0..<TemporaryFiles.slotCount {
                let slot = slots + s * TemporaryFiles.slotBytes
                if slot[0] != 0, String(cString: slot) == path { slot[0] = 0 }
            }
        }

        var paths: [String] {
            pthread_mutex_lock(lock)
            defer { pthread_mutex_unlock(lock) }
            return (0..<TemporaryFiles.slotCount).compactMap { s in
                let slot = slots + s * TemporaryFiles.slotBytes
                return slot[0] == 0 ? nil : String(cString: slot)
            }
        }

        private func installHandlers() {
            for sig in [SIGINT, SIGTERM] {
                var action = sigaction()
                #if canImport(Glibc)
                action.__sigaction_handler.sa_handler = removeTemporariesAndDie
                #else
                action.__sigaction_u.__sa_handler = removeTemporariesAndDie
                #endif
                sigemptyset(&action.sa_mask)
                action.sa_flags = 0
                var previous = sigaction()
                sigaction(sig, nil, &previous)
                // A signal the parent set to be ignored (nohup, `&` in a script) stays ignored.
                #if canImport(Glibc)
                let ignored = unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) == 1
                #else
                let ignored = unsafeBitCast(previous.__sigaction_u.__sa_handler, to: Int.self) == 1
                #endif
                if !ignored { sigaction(sig, &action, nil) }
            }
        }
    }
}

/// The slots: one block, allocated and zeroed once (a constant pointer; the registry writes
/// the bytes under its lock, the handler only reads them). Initialised before the handler is
/// installed, since the registry that installs it holds it.
private let temporarySlots: UnsafeMutablePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: TemporaryFiles.slotCount * TemporaryFiles.slotBytes)
    p.initialize(repeating: 0, count: TemporaryFiles.slotCount * TemporaryFiles.slotBytes)
    return p
}()

/// Unlinks every registered temporary, then dies of the signal with its default action.
private func removeTemporariesAndDie(_ sig: Int32) {
    let slots = temporarySlots
    for s in 0..<128 {   // TemporaryFiles.slotCount, slotBytes
        let slot = slots + s * 4096
        if slot[0] != 0 { unlink(slot) }
    }
    signal(sig, SIG_DFL)
    raise(sig)
}
