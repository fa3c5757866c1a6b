#include "crypto/sha_multi.h"

// GCC 12's AVX-512 headers build vectors from _mm512_undefined_*() and trip
// -Wmaybe-uninitialized once inlined (a known false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <immintrin.h>

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

// ---- SHA-512, 8 lanes of 64-bit words

// FIPS 180-4 section 4.2.3: the round constants.
alignas(64) constexpr uint64_t kK512[80] = {
    0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
    0x3956c25bf348b538ull, 0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
    0xd807aa98a3030242ull, 0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
    0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
    0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
    0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
    0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
    0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull, 0x06ca6351e003826full, 0x142929670a0e6e70ull,
    0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
    0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
    0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
    0xd192e819d6ef5218ull, 0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
    0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
    0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
    0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
    0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
    0xca273eceea26619cull, 0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
    0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
    0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
    0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};
// Section 5.3.5: the initial hash value.
constexpr uint64_t kH512[8] = {0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};

// Section 4.1.3, for 8 lanes at once.
BS_AVX512_INLINE __m512i big_sigma0_512(__m512i x) {
  return _mm512_ternarylogic_epi64(_mm512_ror_epi64(x, 28), _mm512_ror_epi64(x, 34), _mm512_ror_epi64(x, 39), kXor3);
}
BS_AVX512_INLINE __m512i big_sigma1_512(__m512i x) {
  return _mm512_ternarylogic_epi64(_mm512_ror_epi64(x, 14), _mm512_ror_epi64(x, 18), _mm512_ror_epi64(x, 41), kXor3);
}
BS_AVX512_INLINE __m512i small_sigma0_512(__m512i x) {
  return _mm512_ternarylogic_epi64(_mm512_ror_epi64(x, 1), _mm512_ror_epi64(x, 8), _mm512_srli_epi64(x, 7), kXor3);
}
BS_AVX512_INLINE __m512i small_sigma1_512(__m512i x) {
  return _mm512_ternarylogic_epi64(_mm512_ror_epi64(x, 19), _mm512_ror_epi64(x, 61), _mm512_srli_epi64(x, 6), kXor3);
}

// Section 6.4.2: one compression of a 128-byte block per lane.
BS_AVX512_INLINE void compress512(__m512i s[8], __m512i w[16]) {
  __m512i a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
#define BS_SHA512_ROUND(t, wt)                                                                              \
  do {                                                                                                      \
    __m512i t1 = _mm512_add_epi64(_mm512_add_epi64(h, big_sigma1_512(e)),                                   \
                                  _mm512_add_epi64(_mm512_ternarylogic_epi64(e, f, g, kCh),                 \
                                                   _mm512_add_epi64(wt, _mm512_set1_epi64(static_cast<long long>(kK512[t]))))); \
    __m512i t2 = _mm512_add_epi64(big_sigma0_512(a), _mm512_ternarylogic_epi64(a, b, c, kMaj));             \
    h = g;                                                                                                  \
    g = f;                                                                                                  \
    f = e;                                                                                                  \
    e = _mm512_add_epi64(d, t1);                                                                            \
    d = c;                                                                                                  \
    c = b;                                                                                                  \
    b = a;                                                                                                  \
    a = _mm512_add_epi64(t1, t2);                                                                           \
  } while (0)
  for (int t = 0; t < 16; t++) BS_SHA512_ROUND(t, w[t]);
  for (int t = 16; t < 80; t++) {
    w[t & 15] = _mm512_add_epi64(_mm512_add_epi64(small_sigma1_512(w[(t - 2) & 15]), w[(t - 7) & 15]),
                                 _mm512_add_epi64(small_sigma0_512(w[(t - 15) & 15]), w[t & 15]));
    BS_SHA512_ROUND(t, w[t & 15]);
  }
#undef BS_SHA512_ROUND
  s[0] = _mm512_add_epi64(s[0], a);
  s[1] = _mm512_add_epi64(s[1], b);
  s[2] = _mm512_add_epi64(s[2], c);
  s[3] = _mm512_add_epi64(s[3], d);
  s[4] = _mm512_add_epi64(s[4], e);
  s[5] = _mm512_add_epi64(s[5], f);
  s[6] = _mm512_add_epi64(s[6], g);
  s[7] = _mm512_add_epi64(s[7], h);
}

BS_AVX512 void hash8_512(const uint64_t init[8], uint64_t prefix_len, const uint8_t* data, size_t stride, size_t len,
                         uint8_t* out) {
  __m512i s[8];
  for (int i = 0; i < 8; i++) s[i] = _mm512_set1_epi64(static_cast<long long>(init[i]));
  const long long st = static_cast<long long>(stride);
  const __m512i lane_off = _mm512_setr_epi64(0, st, 2 * st, 3 * st, 4 * st, 5 * st, 6 * st, 7 * st);
  const __m512i bswap = _mm512_broadcast_i32x4(_mm_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8));
  __m512i w[16];
  for (size_t off = 0; off < len; off += Sha512Multi::kBlock) {
    const uint8_t* p = data + off;
    for (int t = 0; t < 16; t++) w[t] = _mm512_shuffle_epi8(_mm512_i64gather_epi64(lane_off, p + 8 * t, 1), bswap);
    compress512(s, w);
  }
  // Padding block (section 5.1.2): 0x80, zeros, the 128-bit length in bits.
  const uint64_t total = prefix_len + len;
  w[0] = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ull));
  for (int t = 1; t < 14; t++) w[t] = _mm512_setzero_si512();
  w[14] = _mm512_set1_epi64(static_cast<long long>(total >> 61));
  w[15] = _mm512_set1_epi64(static_cast<long long>(total << 3));
  compress512(s, w);
  alignas(64) uint64_t words[8][Sha512Multi::kLanes];
  for (int i = 0; i < 8; i++) _mm512_store_si512(reinterpret_cast<__m512i*>(words[i]), s[i]);
  for (size_t lane = 0; lane < Sha512Multi::kLanes; lane++)
    for (int i = 0; i < 8; i++) {
      const uint64_t be = __builtin_bswap64(words[i][lane]);
      std::memcpy(out + lane * 64 + i * 8, &be, 8);
    }
}

BS_AVX512 void prefix_state512(const uint8_t* prefix, size_t len, uint64_t state[8]) {
  __m512i s[8];
  for (int i = 0; i < 8; i++) s[i] = _mm512_set1_epi64(static_cast<long long>(kH512[i]));
  __m512i w[16];
  for (size_t off = 0; off < len; off += Sha512Multi::kBlock) {
    for (int t = 0; t < 16; t++) {
      uint64_t be;
      std::memcpy(&be, prefix + off + 8 * t, 8);
      w[t] = _mm512_set1_epi64(static_cast<long long>(__builtin_bswap64(be)));
    }
    compress512(s, w);
  }
  for (int i = 0; i < 8; i++) state[i] = static_cast<uint64_t>(_mm_cvtsi128_si64(_mm512_castsi512_si128(s[i])));
}

#undef BS_AVX512
#undef BS_AVX512_INLINE

bool cpu_supported() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}

// Times both ways on the same messages of 4 KiB (best of a few rounds, as
// other processes may preempt us) and keeps the faster one.
template <typename Multi>
bool faster_than_openssl(HashAlg alg) {
  constexpr size_t kMessage = 4096;
  constexpr int kRounds = 3;
  static uint8_t data[Multi::kLanes * kMessage];
  uint8_t out[Multi::kLanes * Multi::kDigest];
  Multi multi;
  Hasher h(alg);
  using Clock = std::chrono::steady_clock;
  Clock::duration best_multi = Clock::duration::max(), best_ossl = Clock::duration::max();
  for (int r = 0; r < kRounds; r++) {
    auto t0 = Clock::now();
    multi.hash(data, kMessage, kMessage, out);
    auto t1 = Clock::now();
    for (size_t i = 0; i < Multi::kLanes; i++) {
      h.update(ByteSpan(data + i * kMessage, kMessage));
      h.finish(out + i * Multi::kDigest);
    }
    auto t2 = Clock::now();
    best_multi = std::min(best_multi, t1 - t0);
    best_ossl = std::min(best_ossl, t2 - t1);
  }
  return best_multi < best_ossl;
}

// Per algorithm (index 0: sha256, 1: sha512): -1 not decided yet, 0 off, 1 on.
std::atomic<int> g_enabled[2] = {-1, -1};

bool env_disabled() {
  const char* env = std::getenv("BOOTSEAL_SHA_MULTI");
  return env && std::strcmp(env, "0") == 0;
}

}  // namespace

bool multi_lane_supported() {
  static const bool ok = cpu_supported();
  return ok;
}

bool multi_lane_enabled(HashAlg alg) {
  if (alg != HashAlg::kSha256 && alg != HashAlg::kSha512) return false;
  std::atomic<int>& slot = g_enabled[alg == HashAlg::kSha512 ? 1 : 0];
  int e = slot.load(std::memory_order_relaxed);
  if (e < 0) {
    bool on = multi_lane_supported() && !env_disabled() &&
              (alg == HashAlg::kSha256 ? faster_than_openssl<Sha256Multi>(alg) : faster_than_openssl<Sha512Multi>(alg));
    int expected = -1;
    slot.compare_exchange_strong(expected, on ? 1 : 0);
    e = slot.load();
  }
  return e == 1;
}

void set_multi_lane_enabled(bool on) {
  for (auto& slot : g_enabled) slot = on && multi_lane_supported() ? 1 : 0;
}

Sha256Multi::Sha256Multi(ByteSpan prefix) : prefix_len_(prefix.size()) {
  if (prefix.size() % kBlock != 0 || !multi_lane_supported()) std::abort();  // caller bug
  std::memcpy(state_, kH0, sizeof(state_));
  if (!prefix.empty()) prefix_state(prefix.data(), prefix.size(), state_);
}

void Sha256Multi::hash(const uint8_t* data, size_t stride, size_t len, uint8_t* out) const {
  if (len % kBlock != 0 || stride * (kLanes - 1) >= (size_t{1} << 31)) std::abort();  // caller bug
  hash16(state_, prefix_len_, data, stride, len, out);
}

Sha512Multi::Sha512Multi(ByteSpan prefix) : prefix_len_(prefix.size()) {
  if (prefix.size() % kBlock != 0 || !multi_lane_supported()) std::abort();  // caller bug
  std::memcpy(state_, kH512, sizeof(state_));
  if (!prefix.empty()) prefix_state512(prefix.data(), prefix.size(), state_);
}

void Sha512Multi::hash(const uint8_t* data, size_t stride, size_t len, uint8_t* out) const {
  if (len % kBlock != 0) std::abort();  // caller bug
  hash8_512(state_, prefix_len_, data, stride, len, out);
}

}  // namespace bootseal::crypto
