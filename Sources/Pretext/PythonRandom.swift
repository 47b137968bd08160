import Tensors

/// The draws the official code makes, on our seeded generator (not Python's Mersenne Twister:
/// the distributions are the official ones, the streams are ours). Every bounded integer is
/// drawn by our own rejection method, so a seed gives the same cubes with any Swift version.
extension SeededGenerator {
    /// Python's `random.random()`: uniform in [0, 1), 53 bits.
    @inline(__always) public mutating func random() -> Double { nextUnitDouble() }

    /// Python's `random.randint(low, high)`: uniform over low...high, both ends included.
    public mutating func randint(_ low: Int, _ high: Int) -> Int {
        precondition(low <= high, "randint(\(low), \(high)): empty range")
        return low + Int(below(UInt64(high - low) + 1))
    }

    /// Python's `random.choice(options)`.
    public mutating func choice<T>(_ options: [T]) -> T {
        precondition(!options.isEmpty, "choice from nothing")
        return options[Int(below(UInt64(options.count)))]
    }

    /// Uniform in 0..<n (Lemire's multiply-and-reject: unbiased).
    public mutating func below(_ n: UInt64) -> UInt64 {
        precondition(n > 0)
        var m = next().multipliedFullWidth(by: n)
        if m.low < n {
            let threshold = (0 &- n) % n
            while m.low < threshold { m = next().multipliedFullWidth(by: n) }
        }
        return m.high
    }

    /// `np.random.shuffle` of a buffer: a uniform permutation (Fisher-Yates from the end).
    public mutating func shuffle(_ buffer: inout [Float], count: Int) {
        var i = count - 1
        while i > 0 {
            let j = Int(below(UInt64(i) + 1))
            buffer.swapAt(i, j)
            i -= 1
        }
    }

    /// `np.random.rand()` as float32: uniform in [0, 1), 24 bits (never rounds up to 1).
    @inline(__always) public mutating func rand() -> Float { nextUnitFloat() }
}
