#include "sys/verity.h"

#include <linux/fsverity.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstring>

namespace bootseal::sys {
namespace {

// Turns the kernel's errno into a sentence a user can act on.
Error verity_errno(int err, std::string_view op, const std::string& path) {
  switch (err) {
    case ENOTTY:
    case EOPNOTSUPP:
      return unsupported_error(
          "{} {}: this filesystem or kernel does not support fs-verity (needs CONFIG_FS_VERITY and a "
          "filesystem such as ext4 with -O verity, f2fs or btrfs)",
          op, path);
    case ENODATA:
      return input_error("{} {}: fs-verity is not enabled on this file", op, path);
    case EEXIST:
      return input_error("{} {}: fs-verity is already enabled on this file", op, path);
    case ETXTBSY:
      return input_error("{} {}: the file is open for writing", op, path);
    case EINVAL:
      return input_error("{} {}: the kernel rejected the parameters (block size, algorithm or salt)", op, path);
    default:
      return Error::from_errno(err, fmt::format("{} {}", op, path));
  }
}

}  // namespace

Result<MeasuredDigest> measure_verity(int fd, const std::string& path) {
  alignas(fsverity_digest) uint8_t buf[sizeof(fsverity_digest) + 64];
  auto* d = reinterpret_cast<fsverity_digest*>(buf);
  d->digest_size = 64;
  if (::ioctl(fd, FS_IOC_MEASURE_VERITY, d) != 0) return verity_errno(errno, "measure fs-verity of", path);
  MeasuredDigest out;
  out.hash_algorithm = d->digest_algorithm;
  out.digest.assign(d->digest, d->digest + d->digest_size);
  return out;
}

Status enable_verity(int fd, const std::string& path, int hash_algorithm, uint32_t block_size, ByteSpan salt) {
  fsverity_enable_arg arg;
  std::memset(&arg, 0, sizeof(arg));
  arg.version = 1;
  arg.hash_algorithm = static_cast<__u32>(hash_algorithm);
  arg.block_size = block_size;
  arg.salt_size = static_cast<__u32>(salt.size());
  arg.salt_ptr = reinterpret_cast<uintptr_t>(salt.data());
  if (::ioctl(fd, FS_IOC_ENABLE_VERITY, &arg) != 0) return verity_errno(errno, "enable fs-verity on", path);
  return {};
}

}  // namespace bootseal::sys
