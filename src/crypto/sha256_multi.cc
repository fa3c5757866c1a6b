#include "crypto/sha256_multi.h"

// GCC 12's AVX-512 headers build vectors from _mm512_undefined_*() and trip
// -Wmaybe-uninitialized once inlined (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <immintrin.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace bootseal::crypto {
namespace {

// FIPS 180-4 section 4.2.2: the round constants.
alignas(64) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
// Section 5.3.3: the initial hash value.
constexpr uint32_t kH0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// vpternlogd truth tables: x ^ y ^ z, Ch(x,y,z) = (x & y) ^ (~x & z), Maj(x,y,z).
constexpr int kXor3 = 0x96;
constexpr int kCh = 0xca;
constexpr int kMaj = 0xe8;

#define BS_AVX512 __attribute__((target("avx512f,avx512bw")))
#define BS_AVX512_INLINE __attribute__((target("avx512f,avx512bw"), always_inline)) inline

// Section 4.1.2, for 16 lanes at once.
BS_AVX512_INLINE __m512i big_sigma0(__m512i x) {
  return _mm512_ternarylogic_epi32(_mm512_ror_epi32(x, 2), _mm512_ror_epi32(x, 13), _mm512_ror_epi32(x, 22), kXor3);
}
BS_AVX512_INLINE __m512i big_sigma1(__m512i x) {
  return _mm512_ternarylogic_epi32(_mm512_ror_epi32(x, 6), _mm512_ror_epi32(x, 11), _mm512_ror_epi32(x, 25), kXor3);
}
BS_AVX512_INLINE __m512i small_sigma0(__m512i x) {
  return _mm512_ternarylogic_epi32(_mm512_ror_epi32(x, 7), _mm512_ror_epi32(x, 18), _mm512_srli_epi32(x, 3), kXor3);
}
BS_AVX512_INLINE __m512i small_sigma1(__m512i x) {
  return _mm512_ternarylogic_epi32(_mm512_ror_epi32(x, 17), _mm512_ror_epi32(x, 19), _mm512_srli_epi32(x, 10), kXor3);
}

// Section 6.2.2: one compression of a 64-byte block per lane. w holds the
// block's 16 message words (host order), and is used as the schedule ring.
BS_AVX512_INLINE void compress(__m512i s[8], __m512i w[16]) {
  __m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
#define BS_SHA256_ROUND(t, wt)                                                                              \
  do {                                                                                                      \
    __m512i t1 = _mm512_add_epi32(_mm512_add_epi32(h, big_sigma1(e)),                                       \
                                  _mm512_add_epi32(_mm512_ternarylogic_epi32(e, f, g, kCh),                 \
                                                   _mm512_add_epi32(wt, _mm512_set1_epi32(static_cast<int>(kK[t]))))); \
    __m512i t2 = _mm512_add_epi32(big_sigma0(a), _mm512_ternarylogic_epi32(a, b, c, kMaj));                 \
    h = g;                                                                                                  \
    g = f;                                                                                                  \
    f = e;                                                                                                  \
    e = _mm512_add_epi32(d, t1);                                                                            \
    d = c;                                                                                                  \
    c = b;                                                                                                  \
    b = a;                                                                                                  \
    a = _mm512_add_epi32(t1, t2);                                                                           \
  } while (0)
  for (int t = 0; t < 16; t++) BS_SHA256_ROUND(t, w[t]);
  // Section 6.2.2 step 1: the message schedule, kept as a ring of 16 words.
  for (int t = 16; t < 64; t++) {
    w[t & 15] = _mm512_add_epi32(_mm512_add_epi32(small_sigma1(w[(t - 2) & 15]), w[(t - 7) & 15]),
                                 _mm512_add_epi32(small_sigma0(w[(t - 15) & 15]), w[t & 15]));
    BS_SHA256_ROUND(t, w[t & 15]);
  }
#undef BS_SHA256_ROUND
  s[0] = _mm512_add_epi32(s[0], a);
  s[1] = _mm512_add_epi32(s[1], b);
  s[2] = _mm512_add_epi32(s[2], c);
  s[3] = _mm512_add_epi32(s[3], d);
  s[4] = _mm512_add_epi32(s[4], e);
  s[5] = _mm512_add_epi32(s[5], f);
  s[6] = _mm512_add_epi32(s[6], g);
  s[7] = _mm512_add_epi32(s[7], h);
}

// Padding block (section 5.1.1) of a message of `total` bytes, when the
// message is a whole number of blocks: 0x80, zeros, the length in bits.
BS_AVX512_INLINE void padding_block(__m512i w[16], uint64_t total) {
  w[0] = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  for (int t = 1; t < 14; t++) w[t] = _mm512_setzero_si512();
  const uint64_t bits = total * 8;
  w[14] = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(bits >> 32)));
  w[15] = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(bits)));
}

BS_AVX512 void hash16(const uint32_t init[8], uint64_t prefix_len, const uint8_t* data, size_t stride, size_t len,
                      uint8_t* out) {
  __m512i s[8];
  for (int i = 0; i < 8; i++) s[i] = _mm512_set1_epi32(static_cast<int>(init[i]));
  // Lane i reads its word t at data + i * stride + 4 t: one gather per word;
  // the bytes are big-endian words (section 3.1).
  const __m512i lane_off = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32(static_cast<int>(stride)));
  const __m512i bswap = _mm512_broadcast_i32x4(_mm_setr_epi8(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12));
  __m512i w[16];
  for (size_t off = 0; off < len; off += Sha256Multi::kBlock) {
    const uint8_t* p = data + off;
    for (int t = 0; t < 16; t++) w[t] = _mm512_shuffle_epi8(_mm512_i32gather_epi32(lane_off, p + 4 * t, 1), bswap);
    compress(s, w);
  }
  padding_block(w, prefix_len + len);
  compress(s, w);
  alignas(64) uint32_t words[8][Sha256Multi::kLanes];
  for (int i = 0; i < 8; i++) _mm512_store_si512(reinterpret_cast<__m512i*>(words[i]), s[i]);
  for (size_t lane = 0; lane < Sha256Multi::kLanes; lane++)
    for (int i = 0; i < 8; i++) {
      const uint32_t be = __builtin_bswap32(words[i][lane]);
      std::memcpy(out + lane * 32 + i * 4, &be, 4);
    }
}

// The state after a prefix of whole blocks (every lane hashes the same bytes).
BS_AVX512 void prefix_state(const uint8_t* prefix, size_t len, uint32_t state[8]) {
  __m512i s[8];
  for (int i = 0; i < 8; i++) s[i] = _mm512_set1_epi32(static_cast<int>(kH0[i]));
  __m512i w[16];
  for (size_t off = 0; off < len; off += Sha256Multi::kBlock) {
    for (int t = 0; t < 16; t++) {
      uint32_t be;
      std::memcpy(&be, prefix + off + 4 * t, 4);
      w[t] = _mm512_set1_epi32(static_cast<int>(__builtin_bswap32(be)));
    }
    compress(s, w);
  }
  for (int i = 0; i < 8; i++) state[i] = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm512_castsi512_si128(s[i])));
}

#undef BS_AVX512
#undef BS_AVX512_INLINE

bool cpu_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

// Times both ways on the same 16 blocks of 4 KiB (best of a few rounds, as
// other processes may preempt us) and keeps the faster one.
bool faster_than_openssl() {
  constexpr size_t kBlockBytes = 4096;
  constexpr int kRounds = 3;
  static uint8_t data[Sha256Multi::kLanes * kBlockBytes];
  uint8_t out[Sha256Multi::kLanes * 32];
  Sha256Multi multi;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  using Clock = std::chrono::steady_clock;
  Clock::duration best_multi = Clock::duration::max(), best_ossl = Clock::duration::max();
  for (int r = 0; r < kRounds; r++) {
    auto t0 = Clock::now();
    multi.hash(data, kBlockBytes, kBlockBytes, out);
    auto t1 = Clock::now();
    for (size_t i = 0; i < Sha256Multi::kLanes; i++) {
      unsigned len = 0;
      EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
      EVP_DigestUpdate(ctx, data + i * kBlockBytes, kBlockBytes);
      EVP_DigestFinal_ex(ctx, out + i * 32, &len);
    }
    auto t2 = Clock::now();
    best_multi = std::min(best_multi, t1 - t0);
    best_ossl = std::min(best_ossl, t2 - t1);
  }
  EVP_MD_CTX_free(ctx);
  return best_multi < best_ossl;
}

std::atomic<int> g_enabled{-1};  // -1: not decided yet

}  // namespace

bool Sha256Multi::supported() {
  static const bool ok = cpu_supported();
  return ok;
}

bool Sha256Multi::enabled() {
  int e = g_enabled.load(std::memory_order_relaxed);
  if (e < 0) {
    const char* env = std::getenv("BOOTSEAL_SHA256_MULTI");
    bool on = supported() && !(env && std::strcmp(env, "0") == 0) && faster_than_openssl();
    int expected = -1;
    g_enabled.compare_exchange_strong(expected, on ? 1 : 0);
    e = g_enabled.load();
  }
  return e == 1;
}

void Sha256Multi::set_enabled(bool on) { g_enabled = on && supported() ? 1 : 0; }

Sha256Multi::Sha256Multi(ByteSpan prefix) : prefix_len_(prefix.size()) {
  if (prefix.size() % kBlock != 0 || !supported()) std::abort();  // caller bug
  std::memcpy(state_, kH0, sizeof(state_));
  if (!prefix.empty()) prefix_state(prefix.data(), prefix.size(), state_);
}

void Sha256Multi::hash(const uint8_t* data, size_t stride, size_t len, uint8_t* out) const {
  if (len % kBlock != 0 || stride * (kLanes - 1) >= (size_t{1} << 31)) std::abort();  // caller bug
  hash16(state_, prefix_len_, data, stride, len, out);
}

}  // namespace bootseal::crypto
