#include "crypto/der.h"

#include <charconv>

namespace bootseal::crypto::der {

Bytes tlv(uint8_t tag, ByteSpan value) {
  Bytes out;
  out.reserve(value.size() + 6);
  out.push_back(tag);
  size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else {
    uint8_t len_bytes[8];
    int k = 0;
    for (size_t v = n; v; v >>= 8) len_bytes[k++] = static_cast<uint8_t>(v);
    out.push_back(static_cast<uint8_t>(0x80 | k));
    while (k) out.push_back(len_bytes[--k]);
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

Bytes concat(std::initializer_list<ByteSpan> parts) {
  Bytes out;
  for (ByteSpan p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

static void put_base128(Bytes& out, uint64_t v) {
  uint8_t tmp[10];
  int k = 0;
  do {
    tmp[k++] = static_cast<uint8_t>(v & 0x7f);
    v >>= 7;
  } while (v);
  while (k) {
    uint8_t b = tmp[--k];
    out.push_back(k ? (b | 0x80) : b);
  }
}

Result<Bytes> oid(std::string_view dotted) {
  std::vector<uint64_t> arcs;
  size_t i = 0;
  while (i <= dotted.size()) {
    size_t j = dotted.find('.', i);
    if (j == std::string_view::npos) j = dotted.size();
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(dotted.data() + i, dotted.data() + j, v);
    if (ec != std::errc() || p != dotted.data() + j || i == j) return input_error("invalid OID '{}'", dotted);
    arcs.push_back(v);
    i = j + 1;
  }
  if (arcs.size() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40)) return input_error("invalid OID '{}'", dotted);
  Bytes content;
  put_base128(content, arcs[0] * 40 + arcs[1]);
  for (size_t k = 2; k < arcs.size(); k++) put_base128(content, arcs[k]);
  return tlv(kOid, content);
}

Result<Element> Reader::next(std::string_view what) {
  size_t start = pos_;
  if (data_.size() - pos_ < 2) return input_error("ASN.1 {}: truncated header at offset {}", what, pos_);
  uint8_t tag = data_[pos_];
  if ((tag & 0x1f) == 0x1f) return input_error("ASN.1 {}: multi-byte tags are not supported", what);
  uint8_t l0 = data_[pos_ + 1];
  size_t p = pos_ + 2;
  uint64_t len = 0;
  if (l0 < 0x80) {
    len = l0;
  } else {
    int k = l0 & 0x7f;
    if (k == 0) return input_error("ASN.1 {}: indefinite length is not DER", what);
    if (k > 4) return input_error("ASN.1 {}: length field of {} bytes is too long", what, k);
    if (data_.size() - p < static_cast<size_t>(k)) return input_error("ASN.1 {}: truncated length", what);
    for (int m = 0; m < k; m++) len = (len << 8) | data_[p++];
  }
  if (len > data_.size() - p)
    return input_error("ASN.1 {}: length {} exceeds the {} bytes left", what, len, data_.size() - p);
  Element e;
  e.tag = tag;
  e.value = data_.subspan(p, len);
  e.whole = data_.subspan(start, p + len - start);
  pos_ = p + len;
  return e;
}

Result<Element> Reader::expect(uint8_t tag, std::string_view what) {
  Element e = BS_TRY(next(what));
  if (e.tag != tag) return input_error("ASN.1 {}: expected tag 0x{:02x}, found 0x{:02x}", what, tag, e.tag);
  return e;
}

Result<std::string> oid_to_string(ByteSpan value) {
  if (value.empty()) return input_error("empty OID");
  std::string out;
  uint64_t v = 0;
  bool first = true;
  for (size_t i = 0; i < value.size(); i++) {
    if (v > (UINT64_MAX >> 7)) return input_error("OID arc too large");
    v = (v << 7) | (value[i] & 0x7f);
    if (value[i] & 0x80) {
      if (i + 1 == value.size()) return input_error("truncated OID");
      continue;
    }
    if (first) {
      uint64_t a = v < 80 ? v / 40 : 2;
      out = fmt::format("{}.{}", a, v - a * 40);
      first = false;
    } else {
      out += fmt::format(".{}", v);
    }
    v = 0;
  }
  return out;
}

}  // namespace bootseal::crypto::der
