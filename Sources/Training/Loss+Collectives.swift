extension Loss {
    /// The loss of the whole global batch when each of N ranks holds an equal slice of it, and
    /// this slice's gradient scaled so that the ranks' average (the gradient all-reduce divides
    /// the sum by N) is the gradient of that global loss.
    ///
    /// MSE, BCE and CE are means over equal slices: the global loss is the mean of the ranks'
    /// losses and the slice's own gradient is already N times its share. The official Dice is
    /// one ratio over the whole batch (not a mean), so its three sums (sum y p, sum y, sum p)
    /// are added over the ranks first; the loss and dL/dp then come from the global sums (the
    /// gradient times N for the averaging). With `--sync-bn` this gives what one process
    /// computes on the global batch, for every loss.
    /// `dc_and_ce` over ranks averages each slice's batch Dice (not one global ratio yet).
    public func evaluate(_ p: [Float], _ y: [Float], channels: Int = 1, batch: Int = 1, across collectives: (any Collectives)?) throws -> Value {
        guard let collectives, collectives.ranks > 1 else { return evaluate(p, y, channels: channels, batch: batch) }
        let n = Double(collectives.ranks)
        if self == .dice {
            var sums = Self.diceSums(p, y)
            try collectives.sum(&sums)
            return Self.dice(y, sums: sums, gradientScale: n)
        }
        let local = evaluate(p, y, channels: channels, batch: batch)
        var total = [local.loss]
        try collectives.sum(&total)
        return Value(loss: total[0] / n, gradient: local.gradient)
    }

    /// sum(y p), sum(p), sum(y) in Double.
    static func diceSums(_ p: [Float], _ y: [Float]) -> [Double] {
        var inter = 0.0, sumP = 0.0, sumY = 0.0
        for i in p.indices {
            inter += Double(y[i]) * Double(p[i])
            sumP += Double(p[i])
            sumY += Double(y[i])
        }
        return [inter, sumP, sumY]
    }

    /// The Dice loss from its sums and dL/dp_i = -(2 y_i den - num) / den^2 (times `gradientScale`).
    static func dice(_ y: [Float], sums: [Double], gradientScale: Double = 1) -> Value {
        let num = 2 * sums[0] + 1, den = sums[2] + sums[1] + 1
        let a = -2 / den * gradientScale, b = num / (den * den) * gradientScale
        return Value(loss: 1 - num / den, gradient: y.map { Float(a * Double($0) + b) })
    }
}
