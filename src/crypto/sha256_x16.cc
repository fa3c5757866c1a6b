#include "crypto/sha256_x16.h"

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_epi32(), which its
// uninitialized-use analysis reports as a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

namespace bootseal::crypto {
namespace {

// FIPS 180-4 section 4.2.2 constants and 5.3.3 initial hash value.
constexpr uint32_t kRoundConstants[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
constexpr uint32_t kInitialHash[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
constexpr size_t kMessageBlock = 64;
constexpr size_t kMessageBlocks = kSha256X16BlockSize / kMessageBlock;
// The padding block of a 4096-byte message: 0x80, zeros, then the bit length
// (32768) big-endian in the last 8 bytes; as message words: W0 and W15 set.
constexpr uint32_t kPadFirstWord = 0x80000000u;
constexpr uint32_t kPadLengthBits = kSha256X16BlockSize * 8;

#define BS_TARGET __attribute__((target("avx512f,avx512bw")))

BS_TARGET inline __m512i xor3(__m512i a, __m512i b, __m512i c) { return _mm512_ternarylogic_epi32(a, b, c, 0x96); }
BS_TARGET inline __m512i add(__m512i a, __m512i b) { return _mm512_add_epi32(a, b); }

// One compression of 16 lanes; W holds the 16 message words per lane.
BS_TARGET inline void compress(__m512i s[8], __m512i W[16]) {
  __m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
  for (int t = 0; t < 64; t++) {
    __m512i w;
    if (t < 16) {
      w = W[t];
    } else {
      __m512i w2 = W[(t - 2) & 15], w15 = W[(t - 15) & 15];
      __m512i s1 = xor3(_mm512_ror_epi32(w2, 17), _mm512_ror_epi32(w2, 19), _mm512_srli_epi32(w2, 10));
      __m512i s0 = xor3(_mm512_ror_epi32(w15, 7), _mm512_ror_epi32(w15, 18), _mm512_srli_epi32(w15, 3));
      w = add(add(s1, W[(t - 7) & 15]), add(s0, W[t & 15]));
      W[t & 15] = w;
    }
    __m512i ch = _mm512_ternarylogic_epi32(e, f, g, 0xCA);   // (e & f) ^ (~e & g)
    __m512i maj = _mm512_ternarylogic_epi32(a, b, c, 0xE8);  // majority
    __m512i sig1 = xor3(_mm512_ror_epi32(e, 6), _mm512_ror_epi32(e, 11), _mm512_ror_epi32(e, 25));
    __m512i sig0 = xor3(_mm512_ror_epi32(a, 2), _mm512_ror_epi32(a, 13), _mm512_ror_epi32(a, 22));
    __m512i t1 = add(add(h, sig1), add(ch, add(w, _mm512_set1_epi32(static_cast<int>(kRoundConstants[t])))));
    __m512i t2 = add(sig0, maj);
    h = g;
    g = f;
    f = e;
    e = add(d, t1);
    d = c;
    c = b;
    b = a;
    a = add(t1, t2);
  }
  s[0] = add(s[0], a);
  s[1] = add(s[1], b);
  s[2] = add(s[2], c);
  s[3] = add(s[3], d);
  s[4] = add(s[4], e);
  s[5] = add(s[5], f);
  s[6] = add(s[6], g);
  s[7] = add(s[7], h);
}

}  // namespace

bool sha256_x16_available() {
  // BOOTSEAL_NO_AVX512=1 forces the single-stream path (tests compare both).
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                         std::getenv("BOOTSEAL_NO_AVX512") == nullptr;
  return ok;
}

BS_TARGET void sha256_x16_4k(const uint8_t* first, size_t stride, uint8_t* out) {
  // Big-endian words: byte-swap each 32-bit lane.
  const __m512i bswap = _mm512_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9,
                                        10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1,
                                        2, 3, 12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  // Lane i reads from first + i * stride (a byte offset within int range:
  // the stride of 16 blocks is at most a few MiB).
  const __m512i offsets = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                             _mm512_set1_epi32(static_cast<int>(stride)));
  __m512i s[8];
  for (int i = 0; i < 8; i++) s[i] = _mm512_set1_epi32(static_cast<int>(kInitialHash[i]));
  __m512i W[16];
  for (size_t blk = 0; blk < kMessageBlocks; blk++) {
    const uint8_t* p = first + kMessageBlock * blk;
    for (int j = 0; j < 16; j++) W[j] = _mm512_shuffle_epi8(_mm512_i32gather_epi32(offsets, p + 4 * j, 1), bswap);
    compress(s, W);
  }
  for (int j = 0; j < 16; j++) W[j] = _mm512_setzero_si512();
  W[0] = _mm512_set1_epi32(static_cast<int>(kPadFirstWord));
  W[15] = _mm512_set1_epi32(static_cast<int>(kPadLengthBits));
  compress(s, W);
  alignas(64) uint32_t words[8][kSha256X16Lanes];
  for (int i = 0; i < 8; i++) _mm512_store_si512(reinterpret_cast<__m512i*>(words[i]), _mm512_shuffle_epi8(s[i], bswap));
  for (size_t lane = 0; lane < kSha256X16Lanes; lane++)
    for (int i = 0; i < 8; i++) std::memcpy(out + 32 * lane + 4 * i, &words[i][lane], 4);
}

}  // namespace bootseal::crypto
