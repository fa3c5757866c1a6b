// systemd's recovery key (src/shared/recovery-key.c): 32 random bytes as 64 "modhex"
// characters (alphabet cbdefghijklnrtuv, high nibble first) in 8 groups of 8 joined by
// '-' (71 characters). The formatted string, dashes included, is the LUKS2 passphrase;
// the keyslot is tagged with a {"type":"systemd-recovery"} token.
#pragma once

#include <string>
#include <string_view>

#include "base/bytes.h"

namespace bootseal::tpm2 {

inline constexpr size_t kRecoveryKeyRawSize = 32;
inline constexpr size_t kRecoveryKeyFormattedSize = 71;

// Formats 32 bytes (any other size is a programming error: returns an empty string).
std::string format_recovery_key(ByteSpan raw);
// systemd's normalize_recovery_key(): accepts the 71-character form (dashes every 8
// characters) or 64 characters without dashes, either case; returns the canonical
// lower-case form with dashes, or an error if `text` is not a recovery key.
Result<std::string> normalize_recovery_key(std::string_view text);
// The 32 bytes a (normalized or not) recovery key encodes.
Result<Bytes> decode_recovery_key(std::string_view text);

}  // namespace bootseal::tpm2
