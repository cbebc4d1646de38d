// swift-tools-version: 6.0
import PackageDescription

// Release builds skip the dynamic exclusivity checks (swift_beginAccess on every class
// property access): ~3% of CPU on the hot path. Static checking still applies, and debug
// builds (the tests) keep the dynamic checks. Unsafe flags keep other packages from depending
// on these targets, so the package offers its executables only, no library product.
let releaseSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
// The decoder's byte masks (`Bytes/ByteMasks.swift`) use the compiler's vector builtins, so one
// SSE2 compare and `pmovmskb` give the mask of 16 bytes; in every configuration, as the tests
// compare those masks with the portable ones.
let coreSettings: [SwiftSetting] = releaseSettings + [.unsafeFlags(["-enable-builtin-module"])]

let package = Package(
    name: "windowkeeper",
    products: [
        .executable(name: "windowkeeper", targets: ["windowkeeper"]),
        .executable(name: "windowkeeper-sim", targets: ["windowkeeper-sim"]),
    ],
    targets: [
        // Pure, synchronous core: framing, decoding, timestamps, window rules, timers, encoding.
        .target(name: "WindowCore", swiftSettings: coreSettings),
        // Shard actors, the reader thread, output, clocks and signals.
        .target(name: "WindowRuntime", dependencies: ["WindowCore"], swiftSettings: releaseSettings),
        // Thin executable: parse options, run the pipeline, map errors to exit codes.
        .executableTarget(name: "windowkeeper", dependencies: ["WindowRuntime"]),
        // Load simulator with an independent ground truth: `windowkeeper-sim generate|verify`.
        // It uses WindowCore only for time formatting and the event encoder, never the rules.
        .executableTarget(name: "windowkeeper-sim", dependencies: ["WindowCore", "ChildProcess"], path: "Simulator"),
        // Dependency-free benchmark harness (release build): `.build/release/windowkeeper-bench all`.
        .executableTarget(name: "windowkeeper-bench", dependencies: ["WindowCore", "WindowRuntime", "ChildProcess"], path: "Benchmarks",
                          exclude: ["live_bench.py"]),
        // Spawning windowkeeper (and cat) with pipes or files, for the simulator and the harness.
        .target(name: "ChildProcess", dependencies: ["WindowCore"]),
        .testTarget(name: "WindowCoreTests", dependencies: ["WindowCore"]),
        .testTarget(
            name: "WindowRuntimeTests",
            dependencies: ["WindowRuntime", "windowkeeper"],
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
