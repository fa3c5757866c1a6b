// Byte-level building blocks for every format module: little-endian loads and
// stores through memcpy (no alignment or aliasing assumptions), checked
// arithmetic, and a bounds-checked reader and an appending writer.
#pragma once

#include <bit>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace bootseal {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

template <typename T>
inline T load_le(const uint8_t* p) {
  static_assert(std::is_unsigned_v<T>);
  T v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, sizeof(T));  // one unaligned load (GCC keeps the byte loop as a loop)
  } else {
    for (size_t i = 0; i < sizeof(T); i++) v |= static_cast<T>(p[i]) << (8 * i);
  }
  return v;
}
template <typename T>
inline void store_le(uint8_t* p, T v) {
  static_assert(std::is_unsigned_v<T>);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(p, &v, sizeof(T));
  } else {
    for (size_t i = 0; i < sizeof(T); i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}
template <typename T>
inline T load_be(const uint8_t* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); i++) v = static_cast<T>((v << 8) | p[i]);
  return v;
}

// Checked arithmetic: nullopt on overflow.
template <typename T>
inline std::optional<T> checked_add(T a, T b) {
  T r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}
template <typename T>
inline std::optional<T> checked_mul(T a, T b) {
  T r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}
inline constexpr uint64_t round_up(uint64_t v, uint64_t align) { return (v + align - 1) / align * align; }
inline constexpr uint64_t div_round_up(uint64_t v, uint64_t d) { return (v + d - 1) / d; }
inline constexpr bool is_power_of_two(uint64_t v) { return v && !(v & (v - 1)); }

// True if [offset, offset+len) lies within a buffer of `size` bytes.
inline bool in_bounds(uint64_t offset, uint64_t len, uint64_t size) {
  return offset <= size && len <= size - offset;
}

// A cursor over untrusted bytes. Every read is bounds-checked and returns an
// error naming `what` and the offset instead of reading past the end.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data, size_t offset = 0) : data_(data), pos_(offset) {}

  size_t pos() const { return pos_; }
  size_t size() const { return data_.size(); }
  size_t remaining() const { return pos_ <= data_.size() ? data_.size() - pos_ : 0; }
  ByteSpan data() const { return data_; }

  Status seek(size_t offset) {
    if (offset > data_.size()) return input_error("offset {} is past the end ({} bytes)", offset, data_.size());
    pos_ = offset;
    return {};
  }
  Status skip(size_t n) {
    if (n > remaining()) return truncated(n, "skip");
    pos_ += n;
    return {};
  }
  template <typename T>
  Result<T> le(std::string_view what = "field") {
    if (sizeof(T) > remaining()) return truncated(sizeof(T), what);
    T v = load_le<T>(data_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  Result<uint8_t> u8(std::string_view what = "field") { return le<uint8_t>(what); }
  Result<uint16_t> u16(std::string_view what = "field") { return le<uint16_t>(what); }
  Result<uint32_t> u32(std::string_view what = "field") { return le<uint32_t>(what); }
  Result<uint64_t> u64(std::string_view what = "field") { return le<uint64_t>(what); }
  Result<ByteSpan> bytes(size_t n, std::string_view what = "data") {
    if (n > remaining()) return truncated(n, what);
    ByteSpan s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  // A subspan at an absolute offset, checked.
  Result<ByteSpan> at(uint64_t offset, uint64_t len, std::string_view what = "data") const {
    if (!in_bounds(offset, len, data_.size()))
      return input_error("{} at offset {} with length {} is out of bounds ({} bytes)", what, offset, len,
                         data_.size());
    return data_.subspan(offset, len);
  }

 private:
  Error truncated(size_t n, std::string_view what) const {
    return input_error("truncated: {} needs {} bytes at offset {}, only {} left", what, n, pos_, remaining());
  }
  ByteSpan data_;
  size_t pos_;
};

// Appends little-endian fields to a growing buffer.
class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(Bytes initial) : buf_(std::move(initial)) {}

  size_t size() const { return buf_.size(); }
  Bytes& buffer() { return buf_; }
  const Bytes& buffer() const { return buf_; }
  Bytes take() { return std::move(buf_); }

  template <typename T>
  void le(T v) {
    size_t at = buf_.size();
    buf_.resize(at + sizeof(T));
    store_le<T>(buf_.data() + at, v);
  }
  void u8(uint8_t v) { buf_.push_back(v); }
  void u16(uint16_t v) { le(v); }
  void u32(uint32_t v) { le(v); }
  void u64(uint64_t v) { le(v); }
  void bytes(ByteSpan s) { buf_.insert(buf_.end(), s.begin(), s.end()); }
  void bytes(std::string_view s) { buf_.insert(buf_.end(), s.begin(), s.end()); }
  void zeros(size_t n) { buf_.resize(buf_.size() + n, 0); }
  void pad_to(size_t align) { buf_.resize(round_up(buf_.size(), align), 0); }
  // Overwrite a field already written.
  template <typename T>
  void put_le_at(size_t offset, T v) {
    store_le<T>(buf_.data() + offset, v);
  }

 private:
  Bytes buf_;
};

inline ByteSpan as_bytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view as_string(ByteSpan s) {
  return std::string_view(reinterpret_cast<const char*>(s.data()), s.size());
}

}  // namespace bootseal
