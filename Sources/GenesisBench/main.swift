// Benchmarks (release build): `swift run -c release GenesisBench <name>`.
print("usage: GenesisBench read-h5 FILE")
