// The initrd's unlock of an encrypted root (bootseal-unlock, run by setup-root):
// unseal a systemd-tpm2 token with the .pcrsig systemd-stub put in /.extra, or, when
// the TPM refuses (one line says why), ask for the recovery key or passphrase on the
// console (three tries); activate with dm-crypt; then, as systemd does, measure the
// volume key into PCR 15 (tpm2-measure-pcr=yes: HMAC-SHA256 keyed with the volume key
// over "cryptsetup:<name>:<uuid>") and extend PCR 11 with "leave-initrd" (the phase
// systemd-pcrphase-initrd extends), so that nothing after this point unseals again.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/hash.h"

namespace bootseal::tpm2dev {

struct BootUnlockOptions {
  std::string device;
  std::string name = "root";  // /dev/mapper/<name>
  std::string tcti = "device:/dev/tpmrm0";
  std::string signature_path = "/.extra/tpm2-pcr-signature.json";
  bool measure = true;  // PCR 15 and PCR 11 (leave-initrd)
  // Extend PCR 11 with "enter-initrd" first, as systemd-pcrphase-initrd.service does at
  // the start of a systemd initrd (ours runs no systemd): the .pcrsig signs that phase.
  bool enter_initrd = true;
  int tries = 3;
  // Reads one line after printing the prompt; nullopt when there is no console input.
  std::function<std::optional<std::string>(const std::string& prompt)> ask;
  std::function<void(const std::string&)> say;
  std::function<uint64_t()> now_us;
};

struct BootUnlockResult {
  std::string how;  // "the TPM (token N)", "the recovery key", "a passphrase"
  int keyslot = -1;
  std::string tpm_refusal;  // why the TPM did not unlock, if it did not
  uint64_t tpm_us = 0, activate_us = 0, measure_us = 0, total_us = 0;
  bool measured = false;
};

Result<BootUnlockResult> boot_unlock(const BootUnlockOptions& o);

// The PCR 15 digest systemd-cryptsetup extends after opening a volume: HMAC(alg,
// key = volume key, "cryptsetup:" + name (':' escaped) + ":" + uuid).
Bytes volume_key_measurement(crypto::HashAlg alg, ByteSpan volume_key, const std::string& name, const std::string& uuid);

// For the initrd: no metadata locking (no /run/cryptsetup), no udev synchronisation.
void luks_initrd_mode();

}  // namespace bootseal::tpm2dev
