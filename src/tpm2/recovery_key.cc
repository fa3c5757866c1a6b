#include "tpm2/recovery_key.h"

namespace bootseal::tpm2 {
namespace {
constexpr char kModhex[] = "cbdefghijklnrtuv";
int modhex_value(char c) {
  if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (int i = 0; i < 16; i++)
    if (kModhex[i] == c) return i;
  return -1;
}
}  // namespace

std::string format_recovery_key(ByteSpan raw) {
  if (raw.size() != kRecoveryKeyRawSize) return {};
  std::string out;
  for (size_t i = 0; i < raw.size(); i++) {
    if (i && i % 4 == 0) out += '-';
    out += kModhex[raw[i] >> 4];
    out += kModhex[raw[i] & 0xf];
  }
  return out;
}

Result<Bytes> decode_recovery_key(std::string_view text) {
  const bool dashes = text.size() == kRecoveryKeyFormattedSize;
  if (!dashes && text.size() != 2 * kRecoveryKeyRawSize)
    return input_error("not a recovery key: {} characters (64 modhex characters, optionally in 8 groups of 8)",
                       text.size());
  Bytes raw;
  for (size_t i = 0; i < kRecoveryKeyRawSize; i++) {
    size_t k = dashes ? i * 2 + i / 4 : i * 2;
    if (dashes && i && i % 4 == 0 && text[k - 1] != '-')
      return input_error("not a recovery key: expected '-' at position {}", k);
    int a = modhex_value(text[k]), b = modhex_value(text[k + 1]);
    if (a < 0 || b < 0) return input_error("not a recovery key: '{}' is not a modhex character", a < 0 ? text[k] : text[k + 1]);
    raw.push_back(static_cast<uint8_t>(a << 4 | b));
  }
  return raw;
}

Result<std::string> normalize_recovery_key(std::string_view text) {
  Bytes raw = BS_TRY(decode_recovery_key(text));
  return format_recovery_key(raw);
}

}  // namespace bootseal::tpm2
