// The composefs kernel-argument grammar, as composefs-rs parses it
// (crates/composefs-boot/src/cmdline.rs, ComposefsCmdline::from_cmdline), plus
// small generic helpers to look up other kernel arguments. Pure: no I/O.
//
//   token   := split on ASCII whitespace (space \t \n \f \r) outside "..." (no escapes;
//              quotes stay in the token)
//   new     := "composefs.digest=" ["?"] ("v1"|"v2") "-" ("sha256"|"sha512") "-" "12" ":" HEX
//   legacy  := "composefs=" ["?"] HEX          (means V2)
//   HEX     := exactly 64 (sha256) or 128 (sha512) hex digits, either case
//
// Precedence: every composefs.digest= token is tried first, in order. A malformed
// descriptor (no ':', bad version, bad lg block size, unknown hash) is an error; a
// well-formed token for the other hash algorithm is skipped; the first token of the
// parser's algorithm wins and a bad hex there is an error. Only if none matched is the
// FIRST composefs= token used (bad hex there is an error). "?" marks insecure
// (fs-verity optional). Documented in docs/formats/karg.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace bootseal::bls {

// The fs-verity hash a composefs karg parser is instantiated for (composefs-rs is
// generic over the ObjectID type; bootc's initramfs uses SHA-512).
enum class KargHash { kSha256, kSha512 };

// The EROFS format family the karg names: V1 (C mkcomposefs layout, also V0) or V2
// (composefs-rs's older layout; what legacy composefs= means).
enum class KargVersion { kV1 = 1, kV2 = 2 };

inline constexpr std::string_view kKargLegacy = "composefs";
inline constexpr std::string_view kKargDigest = "composefs.digest";
// The only fs-verity Merkle block size composefs-rs accepts: log2(4096).
inline constexpr unsigned kKargLgBlockSize = 12;

struct ComposefsKarg {
  KargVersion version = KargVersion::kV2;
  KargHash hash = KargHash::kSha512;
  bool insecure = false;  // "?" after "=": fs-verity optional
  Bytes digest;           // 32 or 64 bytes
};

std::string_view karg_hash_name(KargHash h);
Result<KargHash> parse_karg_hash(std::string_view name);
size_t karg_digest_size(KargHash h);

// Splits a kernel command line into tokens as the kernel (and composefs-rs) does.
// Empty tokens are dropped (they never match a key).
std::vector<std::string_view> split_cmdline(std::string_view cmdline);

// composefs-rs's ComposefsCmdline::from_cmdline for one hash type: nullopt when no
// composefs karg of that type is present, an error naming the token when one is malformed.
Result<std::optional<ComposefsKarg>> parse_composefs_karg(std::string_view cmdline, KargHash hash);

// Renders as composefs-rs's to_cmdline_arg: V1 -> "composefs.digest=[?]v1-<hash>-12:<hex>",
// V2 -> "composefs=[?]<hex>" (the legacy form bootc's clients read).
std::string format_composefs_karg(const ComposefsKarg& k);
// Always the legacy form "composefs=[?]<hex>", whatever the version.
std::string format_legacy_karg(ByteSpan digest, bool insecure = false);
// Always the self-describing form "composefs.digest=[?]v<N>-<hash>-12:<hex>".
std::string format_digest_karg(KargVersion v, KargHash h, ByteSpan digest, bool insecure = false);

// The composefs kargs (composefs=, composefs.digest=, any other composefs.* key, in any
// form the kernel or composefs-rs would read: quotes are ignored) belong to whoever adds
// the image digest. Where bootseal adds it (disk create, upgrade/switch --keys), a
// user-given command line carrying one is refused: `option` names where the text came
// from (e.g. "--cmdline") and the message names the argument.
Status refuse_composefs_kargs(std::string_view cmdline, std::string_view option);

// Generic lookups: the value of the first token "key=value" (verbatim, quotes kept),
// nullopt if absent. A token "key" with no '=' yields an empty value.
std::optional<std::string_view> cmdline_value(std::string_view cmdline, std::string_view key);
// True if a token is exactly "key" or "key=1|yes|true|on" (the last such token decides).
bool cmdline_flag(std::string_view cmdline, std::string_view key);

}  // namespace bootseal::bls
