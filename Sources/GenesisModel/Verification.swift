import Tensors

/// One thing wrong with a file, named so that a user can act on it.
public struct Problem: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        case missing, unexpected, shape, dtype, nonFinite = "non_finite", bnVariance = "bn_variance", architecture
    }
    public let tensor: String
    public let kind: Kind
    public let expected: String
    public let found: String
    public let message: String

    public init(tensor: String, kind: Kind, expected: String, found: String, message: String) {
        self.tensor = tensor
        self.kind = kind
        self.expected = expected
        self.found = found
        self.message = message
    }
}

/// The report of `verify`: every problem, not only the first.
public struct VerificationReport: Sendable {
    public let architecture: Architecture
    public let problems: [Problem]
    public var valid: Bool { problems.isEmpty }
    /// Trainable values of the expected architecture.
    public var parameters: Int { architecture.trainableCount }
}

public enum Verification {
    /// How problems name tensors and show shapes: in the file's own names and layout.
    public struct Presentation {
        /// The name a user of the file would look for (the file's own, or the one it would have).
        public var name: (ParameterSpec) -> String
        /// Said after "missing (expected ...)" (e.g. that a Keras name is a guess), or "".
        public var missingNote: (ParameterSpec) -> String
        /// Said after "not part of the network" for a key under the network's names, or "".
        public var unexpectedNote: (String) -> String
        /// A canonical (PyTorch-layout) shape as the file's layout shows it.
        public var shape: ([Int]) -> [Int]

        public init(name: @escaping (ParameterSpec) -> String, missingNote: @escaping (ParameterSpec) -> String = { _ in "" },
                    unexpectedNote: @escaping (String) -> String = { _ in "" }, shape: @escaping ([Int]) -> [Int] = { $0 }) {
            self.name = name
            self.missingNote = missingNote
            self.unexpectedNote = unexpectedNote
            self.shape = shape
        }

        /// Flat PyTorch-style files: the file's key, else the canonical name with the file's
        /// `module.` prefix; shapes as they are.
        public static func flat(_ m: MappedTensors) -> Presentation {
            Presentation(name: { m.sourceNames[$0.name] ?? (m.hadModulePrefix ? NameMaps.dataParallelPrefix : "") + $0.name })
        }
    }

    /// Checks mapped tensors against an architecture: presence, shape (in the file's own
    /// layout), dtype, NaN/Inf, BN variance > 0, and tensors that do not belong.
    public static func verify(_ m: MappedTensors, against arch: Architecture) -> VerificationReport {
        let specs = Dictionary(uniqueKeysWithValues: arch.tensors.map { ($0.name, $0) })
        let keras = m.kerasLayout
        let presentation = Presentation(
            name: { m.displayName(specs[$0.name]!) },
            missingNote: { keras && KerasNames.missingName(specs[$0.name]!, in: m).guessed ? " (\(KerasNames.autoNameNote))" : "" },
            unexpectedNote: { $0.contains("up_conv") ? " (the \(arch.variant.rawValue) variant has no up-convolution weights)" : "" },
            shape: { shape in keras && shape.count == 5 ? NameMaps.canonicalToKerasAxes.map { shape[$0] } : shape })
        return VerificationReport(architecture: arch, problems: verify(m, parameters: arch.network.parameters, presentation: presentation))
    }

    /// Checks mapped tensors against any described network's parameters (every family's check):
    /// presence (optional ones may be absent), shape, dtype, NaN/Inf, BatchNorm moving variances
    /// > 0, and tensors that do not belong (under the network's names, or not mapped at all).
    public static func verify(_ m: MappedTensors, parameters specs: [ParameterSpec], presentation: Presentation? = nil) -> [Problem] {
        let show = presentation ?? .flat(m)
        var problems: [Problem] = []
        let expectedNames = Set(specs.map(\.name))
        for spec in specs {
            let shown = show.name(spec)
            guard let t = m.store[spec.name] else {
                if !spec.optional {
                    let shape = fmt(show.shape(spec.shape))
                    problems.append(Problem(tensor: shown, kind: .missing, expected: shape, found: "absent",
                                            message: "\(shown): missing (expected \(spec.dtype.rawValue) \(shape))\(show.missingNote(spec))"))
                }
                continue
            }
            if t.shape != spec.shape {
                let exp = fmt(show.shape(spec.shape)), found = fmt(show.shape(t.shape))
                problems.append(Problem(tensor: shown, kind: .shape, expected: exp, found: found,
                                        message: "\(shown): wrong shape: expected \(exp), found \(found)"))
            }
            if t.dtype != spec.dtype {
                problems.append(Problem(tensor: shown, kind: .dtype, expected: spec.dtype.rawValue, found: t.dtype.rawValue,
                                        message: "\(shown): wrong dtype: expected \(spec.dtype.rawValue), found \(t.dtype.rawValue)"))
            }
            if t.dtype.isFloatingPoint {
                let (nan, inf) = nonFiniteCounts(t)
                let count = t.elementCount
                if nan + inf > 0 {
                    let f = [nan > 0 ? "\(nan) NaN" : nil, inf > 0 ? "\(inf) Inf" : nil].compactMap { $0 }.joined(separator: ", ")
                    problems.append(Problem(tensor: shown, kind: .nonFinite, expected: "finite values", found: f,
                                            message: "\(shown): \(f) of \(count) values"))
                }
                if spec.kind == .runningVariance {
                    let values = t.floats()
                    let bad = values.filter { $0.isFinite && $0 <= 0 }
                    if !bad.isEmpty {
                        problems.append(Problem(tensor: shown, kind: .bnVariance, expected: "> 0", found: "\(bad.count) values <= 0 (min \(bad.min()!))",
                                                message: "\(shown): \(bad.count) of \(values.count) moving variances are <= 0 (min \(bad.min()!))"))
                    }
                }
            }
        }
        for name in m.store.names where !expectedNames.contains(name) {
            let t = m.store[name]!
            let shown = m.sourceNames[name] ?? name
            problems.append(Problem(tensor: shown, kind: .unexpected, expected: "absent", found: "\(t.dtype.rawValue) \(fmt(t.shape))",
                                    message: "\(shown): not part of the network\(show.unexpectedNote(name))"))
        }
        for (name, t) in m.unexpected {
            problems.append(Problem(tensor: name, kind: .unexpected, expected: "absent", found: "\(t.dtype.rawValue) \(fmt(t.shape))",
                                    message: "\(name): not part of the network"))
        }
        return problems
    }

    /// NaN and Inf counts, scanning float32 in place (other float types converted).
    static func nonFiniteCounts(_ t: Tensor) -> (nan: Int, inf: Int) {
        var nan = 0, inf = 0
        func count(_ v: Float) { if !v.isFinite { if v.isNaN { nan += 1 } else { inf += 1 } } }
        if t.dtype == .float32 {
            // A branch-free pass over the exponent bits (vectorised) first; the counting pass
            // runs only for tensors that hold a NaN or an infinity.
            let any = t.bytes.withUnsafeBytes { raw in
                raw.bindMemory(to: UInt32.self).reduce(0 as UInt32) { $0 | (($1 & 0x7f80_0000) == 0x7f80_0000 ? 1 : 0) }
            }
            if any != 0 { t.bytes.withUnsafeBytes { raw in for v in raw.bindMemory(to: Float.self) { count(v) } } }
        } else {
            for v in t.floats() { count(v) }
        }
        return (nan, inf)
    }

    static func fmt(_ shape: [Int]) -> String { "(" + shape.map(String.init).joined(separator: ",") + ")" }
}
