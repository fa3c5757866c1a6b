#include "bls/karg.h"

#include "base/hex.h"

namespace bootseal::bls {
namespace {

// Rust's char::is_ascii_whitespace: space, \t, \n, \x0c, \r (not \x0b).
bool is_cmdline_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

// Rust's u8::from_str: optional '+', then one or more decimal digits, value <= 255.
std::optional<unsigned> parse_u8(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > 255) return std::nullopt;
  }
  return v;
}

struct Descriptor {
  KargVersion version;
  KargHash hash;
  std::string_view hex;
};

// composefs-rs parse_digest_value: "v1-sha256-12:<hex>" -> descriptor + hex (hex unchecked).
Result<Descriptor> parse_digest_value(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return input_error("expected '<version>-<hash>-<blocksize>:<hex>'");
  std::string_view desc = s.substr(0, colon), hex = s.substr(colon + 1);
  size_t dash = desc.find('-');
  if (dash == std::string_view::npos) return input_error("expected 'v<N>-<hash>-<blocksize>', got '{}'", desc);
  std::string_view ver = desc.substr(0, dash), rest = desc.substr(dash + 1);
  KargVersion version;
  if (ver == "v1")
    version = KargVersion::kV1;
  else if (ver == "v2")
    version = KargVersion::kV2;
  else
    return input_error("unsupported format version '{}' (expected v1 or v2)", ver);
  // Algorithm::from_str("fsverity-" + rest): rsplit at the last '-', block size first.
  size_t last = rest.rfind('-');
  if (last == std::string_view::npos) return input_error("expected '<hash>-<blocksize>', got '{}'", rest);
  std::string_view hash = rest.substr(0, last), lg = rest.substr(last + 1);
  auto lgv = parse_u8(lg);
  if (!lgv) return input_error("invalid block size '{}'", lg);
  if (*lgv != kKargLgBlockSize)
    return input_error("unsupported block size {} (only {} is supported)", *lgv, kKargLgBlockSize);
  KargHash h;
  if (hash == "sha256")
    h = KargHash::kSha256;
  else if (hash == "sha512")
    h = KargHash::kSha512;
  else
    return input_error("unsupported hash algorithm '{}' (expected sha256 or sha512)", hash);
  return Descriptor{version, h, hex};
}

// hex::decode_to_slice: odd length, then wrong length, then bad characters.
Result<Bytes> decode_digest(std::string_view hex, KargHash h) {
  size_t want = karg_digest_size(h) * 2;
  if (hex.size() % 2 != 0) return input_error("odd hex length {} (expected {} for {})", hex.size(), want, karg_hash_name(h));
  if (hex.size() != want)
    return input_error("got {} hex characters, expected {} for {}", hex.size(), want, karg_hash_name(h));
  return from_hex(hex);
}

std::string_view strip_prefix(std::string_view s, std::string_view p, bool* had) {
  *had = s.substr(0, p.size()) == p;
  return *had ? s.substr(p.size()) : s;
}

}  // namespace

std::string_view karg_hash_name(KargHash h) { return h == KargHash::kSha256 ? "sha256" : "sha512"; }

Result<KargHash> parse_karg_hash(std::string_view name) {
  if (name == "sha256") return KargHash::kSha256;
  if (name == "sha512") return KargHash::kSha512;
  return input_error("unknown hash '{}' (expected sha256 or sha512)", name);
}

size_t karg_digest_size(KargHash h) { return h == KargHash::kSha256 ? 32 : 64; }

std::vector<std::string_view> split_cmdline(std::string_view cmdline) {
  std::vector<std::string_view> out;
  bool in_quotes = false;
  size_t start = 0;
  for (size_t i = 0; i <= cmdline.size(); i++) {
    bool split = i == cmdline.size();
    if (!split) {
      char c = cmdline[i];
      if (c == '"') in_quotes = !in_quotes;
      split = !in_quotes && is_cmdline_space(c);
    }
    if (split) {
      if (i > start) out.push_back(cmdline.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

Result<std::optional<ComposefsKarg>> parse_composefs_karg(std::string_view cmdline, KargHash hash) {
  auto tokens = split_cmdline(cmdline);
  const std::string digest_prefix = std::string(kKargDigest) + "=";
  for (std::string_view tok : tokens) {
    bool had;
    std::string_view val = strip_prefix(tok, digest_prefix, &had);
    if (!had) continue;
    bool insecure;
    std::string_view v = strip_prefix(val, "?", &insecure);
    auto d = parse_digest_value(v);
    if (!d.ok()) return std::move(d).error().context(fmt::format("karg '{}'", tok));
    if (d->hash != hash) continue;  // another algorithm's token: skipped
    auto bytes = decode_digest(d->hex, hash);
    if (!bytes.ok()) return std::move(bytes).error().context(fmt::format("karg '{}'", tok));
    return std::optional<ComposefsKarg>(ComposefsKarg{d->version, hash, insecure, std::move(*bytes)});
  }
  const std::string legacy_prefix = std::string(kKargLegacy) + "=";
  for (std::string_view tok : tokens) {
    bool had;
    std::string_view val = strip_prefix(tok, legacy_prefix, &had);
    if (!had) continue;
    bool insecure;
    std::string_view hex = strip_prefix(val, "?", &insecure);
    auto bytes = decode_digest(hex, hash);
    if (!bytes.ok()) return std::move(bytes).error().context(fmt::format("karg '{}'", tok));
    return std::optional<ComposefsKarg>(ComposefsKarg{KargVersion::kV2, hash, insecure, std::move(*bytes)});
  }
  return std::optional<ComposefsKarg>();
}

Status refuse_composefs_kargs(std::string_view cmdline, std::string_view option) {
  for (std::string_view tok : split_cmdline(cmdline)) {
    std::string key;
    for (char c : tok) {
      if (c == '"') continue;  // the kernel drops quotes; composefs-rs would not, refuse both readings
      if (c == '=') break;
      key.push_back(c);
    }
    if (key == kKargLegacy || key.starts_with(std::string(kKargLegacy) + "."))
      return input_error("your {} carries '{}': the composefs karg is bootseal's own (it adds composefs=<digest> "
                         "for the image it seals); remove it from {}",
                         option, tok, option);
  }
  return {};
}

std::string format_legacy_karg(ByteSpan digest, bool insecure) {
  return fmt::format("{}={}{}", kKargLegacy, insecure ? "?" : "", to_hex(digest));
}

std::string format_digest_karg(KargVersion v, KargHash h, ByteSpan digest, bool insecure) {
  return fmt::format("{}={}v{}-{}-{}:{}", kKargDigest, insecure ? "?" : "", static_cast<int>(v), karg_hash_name(h),
                     kKargLgBlockSize, to_hex(digest));
}

std::string format_composefs_karg(const ComposefsKarg& k) {
  if (k.version == KargVersion::kV1) return format_digest_karg(k.version, k.hash, k.digest, k.insecure);
  return format_legacy_karg(k.digest, k.insecure);
}

std::optional<std::string_view> cmdline_value(std::string_view cmdline, std::string_view key) {
  for (std::string_view tok : split_cmdline(cmdline)) {
    if (tok == key) return std::string_view();
    if (tok.size() > key.size() && tok.substr(0, key.size()) == key && tok[key.size()] == '=')
      return tok.substr(key.size() + 1);
  }
  return std::nullopt;
}

bool cmdline_flag(std::string_view cmdline, std::string_view key) {
  bool on = false;
  for (std::string_view tok : split_cmdline(cmdline)) {
    if (tok == key) {
      on = true;
    } else if (tok.size() > key.size() && tok.substr(0, key.size()) == key && tok[key.size()] == '=') {
      std::string_view v = tok.substr(key.size() + 1);
      on = v == "1" || v == "yes" || v == "true" || v == "on" || v == "y";
    }
  }
  return on;
}

}  // namespace bootseal::bls
