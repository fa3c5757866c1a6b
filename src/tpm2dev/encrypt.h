// An encrypted root partition image built without device-mapper (`disk create
// --encrypt`): the filesystem image is encrypted in userspace with AES-XTS-plain64
// (src/crypto/xts.h) under a fresh volume key and written after a LUKS2 header
// that libcryptsetup formats for that key; then a recovery key (always) and the
// systemd-tpm2 token are enrolled as `tpm enroll` does (online on a TPM, or offline
// for a TPM's SRK public key). systemd-cryptsetup and dm-crypt open it as any
// cryptsetup-made volume.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace bootseal::tpm2dev {

// Room for the LUKS2 header (cryptsetup's default data offset).
inline constexpr uint64_t kLuksHeaderBytes = 16ull << 20;

struct EncryptedRootOptions {
  std::string plain_image;  // the filesystem image, a multiple of 512 bytes
  std::string output;       // written: kLuksHeaderBytes of header, then the encrypted image
  std::string uuid;         // LUKS2 UUID (the cmdline's bootseal.luks=)
  std::string label = "bootseal-root";
  // Enrollment: a TPM (tpm2_device), or offline for srk_public (TPM2B_PUBLIC).
  std::optional<std::string> tpm2_device;
  std::optional<Bytes> srk_public;
  std::optional<std::string> public_key_pem;  // signed PCR 11 policy key
  std::vector<unsigned> pcrs;                 // literal PCRs (default: 15 at its initial value)
  std::map<unsigned, Bytes> pcr_values;
  std::optional<std::string> recovery_key_file;  // else the key is returned to be printed once
  std::optional<std::string> passphrase;         // an extra argon2id passphrase keyslot
};

struct EncryptedRootResult {
  std::string recovery_key;  // empty when written to recovery_key_file
  int recovery_keyslot = -1, tpm_keyslot = -1, tpm_token = -1, passphrase_keyslot = -1;
  std::string policy_hash;
  uint64_t bytes = 0;
};

Result<EncryptedRootResult> make_encrypted_root(const EncryptedRootOptions& o);

}  // namespace bootseal::tpm2dev
