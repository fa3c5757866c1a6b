#include "tpm2/luks2.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "tpm2/token.h"

namespace bootseal::tpm2 {

namespace {

constexpr size_t kBinHeader = 4096;
constexpr size_t kCsumOffset = 448, kCsumLen = 64;

uint64_t be64(ByteSpan d, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; i++) v = v << 8 | d[at + i];
  return v;
}

std::string cstr(ByteSpan d, size_t at, size_t len) {
  const char* p = reinterpret_cast<const char*>(d.data() + at);
  return std::string(p, strnlen(p, len));
}

Result<int> index(const std::string& key, std::string_view what, int max) {
  int v = -1;
  auto [p, ec] = std::from_chars(key.data(), key.data() + key.size(), v);
  if (key.empty() || ec != std::errc() || p != key.data() + key.size() || v < 0 || v >= max)
    return input_error("LUKS2 JSON area: bad {} id '{}'", what, key);
  return v;
}

// One copy at `at`: its binary header, checksum and JSON area.
Result<Luks2Header> parse_copy(ByteSpan data, size_t at, bool primary) {
  const char* which = primary ? "primary" : "secondary";
  if (data.size() < at || data.size() - at < kBinHeader)
    return input_error("LUKS2 {} header: {} bytes, shorter than its 4096-byte binary header", which, data.size() - std::min(at, data.size()));
  ByteSpan h = data.subspan(at);
  static constexpr uint8_t kMagic1[6] = {'L', 'U', 'K', 'S', 0xBA, 0xBE}, kMagic2[6] = {'S', 'K', 'U', 'L', 0xBA, 0xBE};
  if (std::memcmp(h.data(), primary ? kMagic1 : kMagic2, 6) != 0) return input_error("LUKS2 {} header: bad magic", which);
  unsigned version = unsigned(h[6]) << 8 | h[7];
  if (version != 2) return input_error("LUKS2 {} header: version {}, not 2 (LUKS1 is not supported)", which, version);
  Luks2Header out;
  out.primary = primary;
  out.hdr_size = be64(h, 8);
  out.seqid = be64(h, 16);
  out.label = cstr(h, 24, 48);
  out.checksum_alg = cstr(h, 72, 32);
  out.uuid = cstr(h, 168, 40);
  uint64_t hdr_offset = be64(h, 256);
  // cryptsetup: 16 KiB .. 4 MiB, a power of two.
  if (out.hdr_size < 16384 || out.hdr_size > 4u << 20 || (out.hdr_size & (out.hdr_size - 1)) != 0)
    return input_error("LUKS2 {} header: hdr_size {} is not a power of two in 16 KiB..4 MiB", which, out.hdr_size);
  if (hdr_offset != at) return input_error("LUKS2 {} header: hdr_offset {} is not where it lies ({})", which, hdr_offset, at);
  if (h.size() < out.hdr_size)
    return input_error("LUKS2 {} header: hdr_size {} but only {} bytes (truncated)", which, out.hdr_size, h.size());
  ByteSpan area = h.subspan(0, out.hdr_size);
  auto alg = crypto::parse_hash_name(out.checksum_alg);
  if (!alg.ok()) return input_error("LUKS2 {} header: unknown checksum algorithm '{}'", which, out.checksum_alg);
  Bytes copy(area.begin(), area.end());
  std::memset(copy.data() + kCsumOffset, 0, kCsumLen);
  Bytes sum = crypto::digest(*alg, copy);
  if (sum.size() > kCsumLen || std::memcmp(sum.data(), area.data() + kCsumOffset, sum.size()) != 0)
    return input_error("LUKS2 {} header: {} checksum mismatch (the header is corrupted)", which, out.checksum_alg);
  ByteSpan json_area = area.subspan(kBinHeader);
  size_t len = 0;
  while (len < json_area.size() && json_area[len] != 0) len++;
  std::string_view text(reinterpret_cast<const char*>(json_area.data()), len);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return input_error("LUKS2 {} header: the JSON area is not a JSON object", which);
  auto ks = j.find("keyslots");
  if (ks == j.end() || !ks->is_object()) return input_error("LUKS2 {} header: the JSON area has no keyslots object", which);
  for (auto& [k, v] : ks->items()) {
    int id = BS_TRY_CTX(index(k, "keyslot", kLuks2MaxKeyslots), "{} header", which);
    if (!v.is_object()) return input_error("LUKS2 {} header: keyslot {} is not an object", which, id);
    Luks2Keyslot s;
    if (auto t = v.find("type"); t != v.end() && t->is_string()) s.type = t->get<std::string>();
    if (auto kdf = v.find("kdf"); kdf != v.end() && kdf->is_object())
      if (auto t = kdf->find("type"); t != kdf->end() && t->is_string()) s.kdf = t->get<std::string>();
    if (auto p = v.find("priority"); p != v.end() && p->is_number_integer()) s.priority = p->get<int>();
    out.keyslots[id] = s;
  }
  if (auto tk = j.find("tokens"); tk != j.end()) {
    if (!tk->is_object()) return input_error("LUKS2 {} header: tokens is not an object", which);
    for (auto& [k, v] : tk->items()) {
      int id = BS_TRY_CTX(index(k, "token", 32), "{} header", which);
      if (!v.is_object()) return input_error("LUKS2 {} header: token {} is not an object", which, id);
      out.tokens[id] = v.dump();
    }
  }
  return out;
}

}  // namespace

Result<Luks2Header> parse_luks2_header(ByteSpan data) {
  auto first = parse_copy(data, 0, true);
  // The secondary lies at the primary's hdr_size (else at the smallest size, 16 KiB).
  uint64_t second_at = 16384;
  if (data.size() >= 16) {
    uint64_t s = be64(data, 8);
    if (s >= 16384 && s <= 4u << 20 && (s & (s - 1)) == 0) second_at = s;
  }
  auto second = parse_copy(data, second_at, false);
  if (first.ok() && second.ok()) {
    if (second->seqid > first->seqid) {
      second->damaged = fmt::format("the primary header is older (seqid {} < {})", first->seqid, second->seqid);
      return std::move(*second);
    }
    return std::move(*first);
  }
  if (first.ok()) {
    first->damaged = second.error().message();
    return std::move(*first);
  }
  if (second.ok()) {
    second->damaged = first.error().message();
    return std::move(*second);
  }
  return input_error("{}; {}", first.error().message(), second.error().message());
}

}  // namespace bootseal::tpm2
