/// Day numbers and their "YYYY-MM-DDT" (11 bytes in 16) of the last two formatted dates.
struct DateCache {
    var day: (Int64, Int64) = (.min, .min)
    var date: (SIMD16<UInt8>, SIMD16<UInt8>) = (.zero, .zero)
}
