// Copying file data in the kernel: a reflink (FICLONE: btrfs, XFS, bcachefs
// share the extents, no data is written) or copy_file_range (in-kernel copy;
// NFS/CIFS server-side copy). For the repository's objects from a directory
// on the same filesystem.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace bootseal::sys {

enum class CloneMethod { kNone, kReflink, kCopyRange };

// Copies the first `size` bytes of `in_fd` to offset 0 of the empty file
// `out_fd`, by reflink where the filesystem allows, else copy_file_range.
// Neither moves the file offsets. kNone when neither works here (other
// filesystem, or unsupported; `out_fd` is empty again): the caller copies by
// read/write. Other failures are errors naming `what`.
Result<CloneMethod> clone_file_data(int in_fd, int out_fd, uint64_t size, std::string_view what);

// Copies the data extents of the file `in_path` into `out_fd` at `offset`
// (SEEK_DATA/SEEK_HOLE, copy_file_range): holes stay holes, so a sparse
// filesystem image costs only its data. Errors name both paths.
Status copy_sparse_into(const std::string& in_path, int out_fd, uint64_t offset, std::string_view out_path);

}  // namespace bootseal::sys
