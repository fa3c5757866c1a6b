// fs-verity ioctls (Linux uapi <linux/fsverity.h>). Digest math lives in
// fsverity/; this is only the kernel interface.
#pragma once

#include <string>

#include "base/bytes.h"

namespace bootseal::sys {

struct MeasuredDigest {
  int hash_algorithm;  // FS_VERITY_HASH_ALG_SHA256 = 1, SHA512 = 2
  Bytes digest;
};

// FS_IOC_MEASURE_VERITY. Errors: kUnsupported when the kernel or filesystem has
// no fs-verity, kInput ("verity is not enabled") when the file has none.
Result<MeasuredDigest> measure_verity(int fd, const std::string& path);
// FS_IOC_ENABLE_VERITY with the given algorithm (1/2), block size and salt.
Status enable_verity(int fd, const std::string& path, int hash_algorithm, uint32_t block_size, ByteSpan salt);

}  // namespace bootseal::sys
