// Streaming tar writer (libarchive's pax interchange format underneath) for
// reproducible layers: the caller decides every header field, nothing is
// taken from the clock or the user database. Entries carry numeric uid/gid
// with empty user and group names, mtime with nanoseconds (pax `mtime` when
// the fraction is not 0), xattrs as SCHILY.xattr.* and hardlinks as link
// entries. Output goes to a WriteFn callback (plain tar, uncompressed: the
// caller compresses, so the bytes it hashes are the diff_id's).
#pragma once

#include <functional>
#include <memory>

#include "base/bytes.h"
#include "base/error.h"
#include "tar/reader.h"

namespace bootseal::tar {

using WriteFn = std::function<Status(ByteSpan)>;

class Writer {
 public:
  static Result<std::unique_ptr<Writer>> open(WriteFn write, std::string name);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Writes a header. For a regular file, exactly e.size bytes must follow
  // through data() before the next header. Hardlinks name their target in
  // e.link_target and carry no data.
  Status header(const Entry& e);
  Status data(ByteSpan bytes);
  // Writes the end-of-archive blocks and flushes.
  Status close();

  struct Impl;

 private:
  Writer() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bootseal::tar
