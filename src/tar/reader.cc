#include "tar/reader.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstring>
#include <optional>

namespace bootseal::tar {

namespace {
constexpr size_t kBufferSize = 256 * 1024;
}

// Stage 1 of a layer reader: libarchive's "raw" format with every
// decompression filter turns the blob into the plain tar stream. Stage 2
// parses that stream. Splitting them lets us see the tar bytes (the layer's
// diff_id) and end the stream with zero padding: some writers (umoci) stop
// right after the last entry's data, without padding and end blocks, which
// GNU tar accepts and libarchive's tar reader does not.
struct Stage1 {
  archive* a = nullptr;
  ReadFn read;
  Bytes buf;
  std::optional<Error> source_error;
  std::function<void(ByteSpan)> on_tar_bytes;
  uint64_t total = 0;
  int64_t padding = -1;  // zero bytes still to supply after the end (-1: not at the end yet)
  ~Stage1() {
    if (a) archive_read_free(a);
  }
};

struct Reader::Impl {
  archive* a = nullptr;
  ReadFn read;
  SkipFn skip;
  Bytes buf;
  std::optional<Error> source_error;
  bool source_eof = false;  // the read callback returned 0
  std::unique_ptr<Stage1> stage1;
  ~Impl() {
    if (a) archive_read_free(a);
  }
};

const char* type_name(EntryType t) {
  switch (t) {
    case EntryType::kRegular: return "regular file";
    case EntryType::kDirectory: return "directory";
    case EntryType::kSymlink: return "symlink";
    case EntryType::kHardlink: return "hardlink";
    case EntryType::kCharDev: return "character device";
    case EntryType::kBlockDev: return "block device";
    case EntryType::kFifo: return "fifo";
    case EntryType::kSocket: return "socket";
  }
  return "?";
}

static la_ssize_t read_cb(archive*, void* client, const void** out) {
  auto* impl = static_cast<Reader::Impl*>(client);
  auto r = impl->read(impl->buf.data(), impl->buf.size());
  if (!r.ok()) {
    impl->source_error = r.error();
    return -1;
  }
  if (*r == 0) impl->source_eof = true;
  *out = impl->buf.data();
  return static_cast<la_ssize_t>(*r);
}

static la_ssize_t stage1_read_cb(archive*, void* client, const void** out) {
  auto* s = static_cast<Stage1*>(client);
  auto r = s->read(s->buf.data(), s->buf.size());
  if (!r.ok()) {
    s->source_error = r.error();
    return -1;
  }
  *out = s->buf.data();
  return static_cast<la_ssize_t>(*r);
}

static Result<size_t> stage1_read(Stage1& s, uint8_t* buf, size_t len, const std::string& name) {
  if (s.padding < 0) {
    la_ssize_t n = archive_read_data(s.a, buf, len);
    if (n < 0) {
      if (s.source_error) return Error(*s.source_error);
      const char* msg = archive_error_string(s.a);
      return input_error("{}: bad compressed data: {}", name, msg ? msg : "unknown error");
    }
    if (n > 0) {
      s.total += static_cast<uint64_t>(n);
      if (s.on_tar_bytes) s.on_tar_bytes(ByteSpan(buf, static_cast<size_t>(n)));
      return static_cast<size_t>(n);
    }
    s.padding = static_cast<int64_t>((512 - s.total % 512) % 512 + 1024);
  }
  size_t k = std::min(len, static_cast<size_t>(s.padding));
  std::memset(buf, 0, k);
  s.padding -= static_cast<int64_t>(k);
  return k;
}

static la_int64_t skip_cb(archive*, void* client, la_int64_t n) {
  auto* impl = static_cast<Reader::Impl*>(client);
  auto r = impl->skip(n);
  if (!r.ok()) {
    impl->source_error = r.error();
    return ARCHIVE_FATAL;
  }
  return *r;
}

Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::open(ReadFn read, std::string name, SkipFn skip,
                                             std::function<void(ByteSpan)> on_tar_bytes) {
  std::unique_ptr<Reader> r(new Reader());
  r->name_ = std::move(name);
  r->impl_ = std::make_unique<Impl>();
  Impl& impl = *r->impl_;
  impl.skip = std::move(skip);
  impl.buf.resize(kBufferSize);
  if (impl.skip) {
    impl.read = std::move(read);  // a plain tar on a seekable source
  } else {
    impl.stage1 = std::make_unique<Stage1>();
    Stage1& s = *impl.stage1;
    s.read = std::move(read);
    s.on_tar_bytes = std::move(on_tar_bytes);
    s.buf.resize(kBufferSize);
    s.a = archive_read_new();
    if (!s.a) return internal_error("archive_read_new failed");
    archive_read_support_filter_gzip(s.a);
    archive_read_support_filter_zstd(s.a);
    archive_read_support_filter_xz(s.a);
    archive_read_support_filter_bzip2(s.a);
    archive_read_support_format_raw(s.a);
    archive_read_set_read_callback(s.a, stage1_read_cb);
    archive_read_set_callback_data(s.a, &s);
    archive_entry* ae = nullptr;
    if (archive_read_open1(s.a) != ARCHIVE_OK || archive_read_next_header(s.a, &ae) != ARCHIVE_OK) {
      if (s.source_error) return Error(*s.source_error).context(r->name_);
      const char* msg = archive_error_string(s.a);
      return input_error("{}: {}", r->name_, msg ? msg : "empty or unreadable data");
    }
    Stage1* sp = &s;
    std::string nm = r->name_;
    impl.read = [sp, nm](uint8_t* b, size_t n) { return stage1_read(*sp, b, n, nm); };
  }
  impl.a = archive_read_new();
  if (!impl.a) return internal_error("archive_read_new failed");
  archive_read_support_format_tar(impl.a);
  archive_read_support_format_gnutar(impl.a);
  // Keep header bytes as they are (no locale conversion): names are bytes.
  archive_read_set_format_option(impl.a, "tar", "hdrcharset", "UTF-8");
  if (impl.skip) archive_read_set_skip_callback(impl.a, skip_cb);
  archive_read_set_read_callback(impl.a, read_cb);
  archive_read_set_callback_data(impl.a, &impl);
  if (archive_read_open1(impl.a) != ARCHIVE_OK) {
    if (impl.source_error) return std::move(*impl.source_error).context(r->name_);
    return input_error("{}: {}", r->name_, archive_error_string(impl.a));
  }
  return r;
}

static Result<std::string> checked_string(const char* s, const char* what, const std::string& where) {
  if (!s) return std::string();
  size_t n = strnlen(s, kMaxPathLength + 1);
  if (n > kMaxPathLength) return input_error("{}: {} longer than {} bytes", where, what, kMaxPathLength);
  return std::string(s, n);
}

Result<bool> Reader::next(Entry& e) {
  archive_entry* ae = nullptr;
  int rc = archive_read_next_header(impl_->a, &ae);
  std::string where = count_ == 0 ? name_ : fmt::format("{}: after entry {}", name_, current_);
  if (rc == ARCHIVE_EOF) return false;
  if (impl_->source_error) return std::move(*impl_->source_error).context(where);
  if (rc == ARCHIVE_FATAL || rc == ARCHIVE_RETRY || !ae) {
    const char* msg = archive_error_string(impl_->a);
    return input_error("{}: bad tar data: {}", where, msg ? msg : "unknown error");
  }
  // ARCHIVE_WARN (e.g. charset conversion) still yields a usable entry.
  e = Entry{};
  size_ = delivered_ = block_off_ = 0;
  sparse_ = block_eof_ = false;
  block_ = nullptr;
  block_left_ = 0;
  const char* p = archive_entry_pathname(ae);
  if (!p) p = archive_entry_pathname_utf8(ae);
  e.path = BS_TRY(checked_string(p, "path", where));
  if (e.path.empty()) return input_error("{}: entry with an empty path", where);
  current_ = e.path;
  count_++;
  where = fmt::format("{}: entry {}", name_, e.path);

  const char* hl = archive_entry_hardlink(ae);
  mode_t ft = archive_entry_filetype(ae);
  if (hl) {
    e.type = EntryType::kHardlink;
    e.link_target = BS_TRY(checked_string(hl, "hardlink target", where));
  } else {
    switch (ft) {
      case AE_IFREG: e.type = EntryType::kRegular; break;
      case AE_IFDIR: e.type = EntryType::kDirectory; break;
      case AE_IFLNK: {
        e.type = EntryType::kSymlink;
        const char* t = archive_entry_symlink(ae);
        if (!t) t = archive_entry_symlink_utf8(ae);
        e.link_target = BS_TRY(checked_string(t, "symlink target", where));
        break;
      }
      case AE_IFCHR: e.type = EntryType::kCharDev; break;
      case AE_IFBLK: e.type = EntryType::kBlockDev; break;
      case AE_IFIFO: e.type = EntryType::kFifo; break;
      case AE_IFSOCK: e.type = EntryType::kSocket; break;
      default: return input_error("{}: unsupported entry type {:o}", where, static_cast<unsigned>(ft));
    }
  }
  e.mode = archive_entry_perm(ae) & 07777;
  la_int64_t uid = archive_entry_uid(ae), gid = archive_entry_gid(ae);
  if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
    return input_error("{}: uid/gid out of range ({}/{})", where, uid, gid);
  e.uid = static_cast<uint32_t>(uid);
  e.gid = static_cast<uint32_t>(gid);
  e.mtime_sec = archive_entry_mtime(ae);
  long nsec = archive_entry_mtime_is_set(ae) ? archive_entry_mtime_nsec(ae) : 0;
  e.mtime_nsec = (nsec > 0 && nsec < 1000000000) ? static_cast<uint32_t>(nsec) : 0;
  la_int64_t size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
  if (size < 0) return input_error("{}: negative size", where);
  e.size = e.type == EntryType::kRegular ? static_cast<uint64_t>(size) : 0;
  if (e.type == EntryType::kCharDev || e.type == EntryType::kBlockDev) {
    e.dev_major = static_cast<uint32_t>(archive_entry_rdevmajor(ae));
    e.dev_minor = static_cast<uint32_t>(archive_entry_rdevminor(ae));
  }
  e.sparse = archive_entry_sparse_count(ae) > 0;
  if (e.sparse && e.size > kMaxSparseSize)
    return input_error("{}: sparse file of {} bytes (at most {} are expanded)", where, e.size, kMaxSparseSize);
  size_ = e.size;
  sparse_ = e.sparse;

  int nx = archive_entry_xattr_reset(ae);
  if (nx < 0 || static_cast<size_t>(nx) > kMaxXattrs)
    return input_error("{}: too many xattrs ({}, at most {})", where, nx, kMaxXattrs);
  const char* xname;
  const void* xval;
  size_t xlen;
  while (archive_entry_xattr_next(ae, &xname, &xval, &xlen) == ARCHIVE_OK) {
    size_t nl = strnlen(xname, kMaxXattrNameLength + 1);
    if (nl == 0 || nl > kMaxXattrNameLength) return input_error("{}: bad xattr name length", where);
    if (xlen > kMaxXattrValueLength) return input_error("{}: xattr {} value longer than {} bytes", where, xname, kMaxXattrValueLength);
    std::string name(xname, nl), value(static_cast<const char*>(xval), xlen);
    bool dup = false;
    for (auto& [n, v] : e.xattrs)
      if (n == name) {
        v = value;  // last one wins
        dup = true;
      }
    if (!dup) e.xattrs.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

// Sparse entries are read block by block: archive_read_data fills the holes
// between data blocks but not a hole at the end of the file (a file that
// ends in a hole, or is all hole, reads back short), so the zeros are filled
// here, up to the logical size the sparse map gives.
Result<size_t> Reader::read_sparse(uint8_t* buf, size_t len) {
  if (len == 0) return 0;
  for (;;) {
    if (block_left_ == 0 && !block_eof_) {
      const void* b = nullptr;
      size_t n = 0;
      la_int64_t off = 0;
      int r = archive_read_data_block(impl_->a, &b, &n, &off);
      if (r == ARCHIVE_EOF) {
        block_eof_ = true;
      } else if (r < ARCHIVE_OK) {
        if (impl_->source_error)
          return std::move(*impl_->source_error).context(fmt::format("{}: entry {}", name_, current_));
        const char* msg = archive_error_string(impl_->a);
        return input_error("{}: entry {}: bad data: {}", name_, current_, msg ? msg : "unknown error");
      } else {
        if (off < 0 || static_cast<uint64_t>(off) < delivered_ || static_cast<uint64_t>(off) > size_ ||
            n > size_ - static_cast<uint64_t>(off))
          return input_error("{}: entry {}: sparse data block at {} (+{}) out of order or past the file size {}", name_,
                             current_, off, n, size_);
        block_ = static_cast<const uint8_t*>(b);
        block_left_ = n;
        block_off_ = static_cast<uint64_t>(off);
        if (n == 0) continue;
      }
    }
    uint64_t hole_end = block_eof_ ? size_ : block_off_;
    if (delivered_ < hole_end) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(len, hole_end - delivered_));
      std::memset(buf, 0, k);
      delivered_ += k;
      return k;
    }
    if (block_eof_) return 0;
    size_t k = std::min(len, block_left_);
    std::memcpy(buf, block_, k);
    block_ += k;
    block_left_ -= k;
    block_off_ += k;
    delivered_ += k;
    return k;
  }
}

Result<size_t> Reader::read(uint8_t* buf, size_t len) {
  if (sparse_) return read_sparse(buf, len);
  la_ssize_t n = archive_read_data(impl_->a, buf, len);
  if (n < 0) {
    if (impl_->source_error) return std::move(*impl_->source_error).context(fmt::format("{}: entry {}", name_, current_));
    const char* msg = archive_error_string(impl_->a);
    return input_error("{}: entry {}: bad data: {}", name_, current_, msg ? msg : "unknown error");
  }
  delivered_ += static_cast<uint64_t>(n);
  return static_cast<size_t>(n);
}

Result<Bytes> Reader::read_all(uint64_t max) {
  Bytes out;
  uint8_t tmp[65536];
  for (;;) {
    size_t n = BS_TRY(read(tmp, sizeof tmp));
    if (n == 0) break;
    if (out.size() + n > max) return input_error("{}: entry {}: larger than {} bytes", name_, current_, max);
    out.insert(out.end(), tmp, tmp + n);
  }
  return out;
}

Status Reader::drain_input() {
  if (!impl_->stage1) return {};
  Stage1& s = *impl_->stage1;
  Bytes buf(65536);
  while (s.padding < 0) BS_TRY(stage1_read(s, buf.data(), buf.size(), name_));
  return {};
}

ReadFn memory_source(ByteSpan data) {
  auto pos = std::make_shared<size_t>(0);
  return [data, pos](uint8_t* buf, size_t len) -> Result<size_t> {
    size_t n = std::min(len, data.size() - *pos);
    if (n) std::memcpy(buf, data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

std::string library_version() { return archive_version_details(); }

}  // namespace bootseal::tar
