// A minimal DER (ITU-T X.690) reader and writer for the few ASN.1 structures
// bootseal builds or inspects itself (Authenticode's SpcIndirectDataContent).
// Pure: spans in, bytes out. Everything else ASN.1 goes through OpenSSL in
// crypto/*.cc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace bootseal::crypto::der {

// Universal tags and the class/constructed bits (X.690 8.1.2).
inline constexpr uint8_t kBoolean = 0x01;
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kBitString = 0x03;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kNull = 0x05;
inline constexpr uint8_t kOid = 0x06;
inline constexpr uint8_t kUtcTime = 0x17;
inline constexpr uint8_t kSequence = 0x30;
inline constexpr uint8_t kSet = 0x31;
inline constexpr uint8_t kContextPrimitive = 0x80;    // [n] IMPLICIT primitive
inline constexpr uint8_t kContextConstructed = 0xa0;  // [n] EXPLICIT / constructed
// Nesting cap for readers of untrusted input.
inline constexpr int kMaxDepth = 32;

// One encoded element: tag, length header, value.
Bytes tlv(uint8_t tag, ByteSpan value);
inline Bytes sequence(ByteSpan content) { return tlv(kSequence, content); }
// OID from dotted text ("1.3.6.1.4.1.311.2.1.4"); the text must be valid.
Result<Bytes> oid(std::string_view dotted);
Bytes concat(std::initializer_list<ByteSpan> parts);

// A parsed element. `whole` is the full TLV, `value` its content octets.
struct Element {
  uint8_t tag = 0;
  ByteSpan whole;
  ByteSpan value;
};

// Reads consecutive elements from a buffer. Only single-byte tags and
// definite lengths (DER) are accepted.
class Reader {
 public:
  explicit Reader(ByteSpan data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  Result<Element> next(std::string_view what);
  // Reads the next element and checks its tag.
  Result<Element> expect(uint8_t tag, std::string_view what);

 private:
  ByteSpan data_;
  size_t pos_ = 0;
};

// Dotted text of an OID's content octets ("2.16.840.1.101.3.4.2.1").
Result<std::string> oid_to_string(ByteSpan value);

}  // namespace bootseal::crypto::der
