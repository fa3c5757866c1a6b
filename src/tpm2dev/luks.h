// A LUKS2 header through libcryptsetup: keyslots, tokens and check-only unlock
// (crypt_activate_by_passphrase with no device-mapper name: the key is verified against
// the keyslot, nothing is activated, so it works on an image file without dm-crypt).
// External token plugins are disabled in our process (crypt_token_external_disable):
// we read systemd's tokens as JSON ourselves.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace bootseal::tpm2dev {

struct TokenInfo {
  int id = -1;
  std::string type;
  std::vector<int> keyslots;
  std::string json;
};

class Luks2 {
 public:
  static Result<Luks2> open(const std::string& path);
  // A new LUKS2 header on `path` (an image file or a device; nothing is activated):
  // aes-xts-plain64 with `volume_key` (64 bytes), 512-byte sectors, the data segment
  // at data_offset() (16 MiB), no keyslot yet.
  static Result<Luks2> format(const std::string& path, ByteSpan volume_key, const std::string& uuid,
                              const std::string& label);
  ~Luks2();
  Luks2(Luks2&&) noexcept;
  Luks2& operator=(Luks2&&) noexcept;

  const std::string& path() const { return path_; }
  std::string uuid() const;
  Result<std::vector<TokenInfo>> tokens() const;
  std::vector<int> active_keyslots() const;
  uint64_t data_offset() const;  // bytes
  uint32_t sector_size() const;
  std::string cipher() const;    // "aes-xts-plain64"

  // The keyslot `passphrase` opens (any keyslot, or `slot`), or an error.
  Result<int> check_passphrase(std::string_view passphrase, int slot = -1);
  Result<Bytes> volume_key(std::string_view passphrase);
  // A new keyslot for `passphrase` with the minimal PBKDF systemd uses for high-entropy
  // secrets (PBKDF2-SHA512, 1000 iterations).
  Result<int> add_keyslot(ByteSpan volume_key, std::string_view passphrase);
  // A keyslot for a human passphrase: argon2id with libcryptsetup's benchmarked cost.
  Result<int> add_passphrase_keyslot(ByteSpan volume_key, std::string_view passphrase);
  // dm-crypt activation as /dev/mapper/NAME (needs device-mapper: the initrd, a guest).
  Status activate(const std::string& name, ByteSpan volume_key);
  Result<int> add_token(const std::string& json);
  Status destroy_keyslot(int slot);
  Status remove_token(int id);

 private:
  struct Impl;
  // A crypt_device for `path`, token plugins off, log quiet.
  static Result<std::unique_ptr<Impl>> init_device(const std::string& path);
  Luks2(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> impl_;
  std::string path_;
};

}  // namespace bootseal::tpm2dev
