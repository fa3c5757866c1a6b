#include "tpm2dev/encrypt.h"

#include "crypto/key.h"
#include "crypto/xts.h"
#include "sys/file.h"
#include "tpm2/recovery_key.h"
#include "tpm2/token.h"
#include "tpm2dev/luks.h"
#include "tpm2dev/ops.h"

namespace bootseal::tpm2dev {

Result<EncryptedRootResult> make_encrypted_root(const EncryptedRootOptions& o) {
  if (!o.tpm2_device && !o.srk_public) return input_error("an encrypted root needs a TPM or an SRK public key to seal for");
  EncryptedRootResult res;
  const Bytes vk = crypto::random_bytes(64);  // aes-xts-plain64, 2 x 256 bits
  {
    sys::Fd in = BS_TRY(sys::open_regular(o.plain_image));
    struct stat st = BS_TRY(sys::fstat_fd(in.get(), o.plain_image));
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size == 0 || size % 512) return input_error("{}: {} bytes is not a whole number of 512-byte sectors", o.plain_image, size);
    sys::Fd out = BS_TRY(sys::open_file(o.output, O_RDWR | O_CREAT | O_TRUNC, 0600));
    Bytes buf(4u << 20);
    for (uint64_t off = 0; off < size;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - off));
      size_t got = BS_TRY(sys::pread_full(in.get(), buf.data(), n, off, o.plain_image));
      if (got != n) return input_error("{}: short read at {}", o.plain_image, off);
      BS_TRY(crypto::aes_xts_plain64(true, vk, off / 512, 512, std::span<uint8_t>(buf.data(), n)));
      BS_TRY(sys::pwrite_full(out.get(), ByteSpan(buf.data(), n), kLuksHeaderBytes + off, o.output));
      off += n;
    }
    res.bytes = kLuksHeaderBytes + size;
  }
  std::string key = tpm2::format_recovery_key(crypto::random_bytes(tpm2::kRecoveryKeyRawSize));
  {
    Luks2 luks = BS_TRY(Luks2::format(o.output, vk, o.uuid, o.label));
    if (luks.data_offset() != kLuksHeaderBytes || luks.sector_size() != 512 || luks.cipher() != "aes-xts-plain64")
      return internal_error("{}: libcryptsetup laid out data at {} ({}-byte sectors, {}), not at {} as written",
                            o.output, luks.data_offset(), luks.sector_size(), luks.cipher(), kLuksHeaderBytes);
    res.recovery_keyslot = BS_TRY(luks.add_keyslot(vk, key));
    BS_TRY(luks.add_token(tpm2::recovery_token_json(res.recovery_keyslot)));
    if (o.passphrase) res.passphrase_keyslot = BS_TRY(luks.add_passphrase_keyslot(vk, *o.passphrase));
    if (o.recovery_key_file) BS_TRY(sys::write_file_atomic(*o.recovery_key_file, as_bytes(key + "\n"), 0600));
    else res.recovery_key = key;
  }
  {
    EnrollOptions e;
    e.device = o.output;
    if (o.tpm2_device) e.tpm2_device = *o.tpm2_device;
    e.srk_public = o.srk_public;
    e.pcrs = o.pcrs;
    e.pcr_values = o.pcr_values;
    e.public_key_pem = o.public_key_pem;
    e.unlock_key = key;
    EnrollResult er = BS_TRY_CTX(enroll(e), "enrolling the TPM");
    res.tpm_keyslot = er.keyslot;
    res.tpm_token = er.token;
    res.policy_hash = er.policy_hash;
  }
  return res;
}

}  // namespace bootseal::tpm2dev
