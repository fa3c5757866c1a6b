#include "tar/writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <optional>

namespace bootseal::tar {

struct Writer::Impl {
  archive* a = nullptr;
  WriteFn write;
  std::string name;
  std::optional<Error> sink_error;
  bool closed = false;
  ~Impl() {
    if (a) archive_write_free(a);
  }
  Error failure(const char* what) {
    if (sink_error) return *sink_error;
    const char* msg = archive_error_string(a);
    return input_error("{}: {}: {}", name, what, msg ? msg : "libarchive error");
  }
};

static la_ssize_t write_cb(archive*, void* client, const void* buf, size_t len) {
  auto* impl = static_cast<Writer::Impl*>(client);
  auto st = impl->write(ByteSpan(static_cast<const uint8_t*>(buf), len));
  if (!st.ok()) {
    impl->sink_error = st.error();
    return -1;
  }
  return static_cast<la_ssize_t>(len);
}

Result<std::unique_ptr<Writer>> Writer::open(WriteFn write, std::string name) {
  std::unique_ptr<Writer> w(new Writer());
  w->impl_ = std::make_unique<Impl>();
  Impl& im = *w->impl_;
  im.write = std::move(write);
  im.name = std::move(name);
  im.a = archive_write_new();
  if (!im.a) return internal_error("{}: archive_write_new failed", im.name);
  if (archive_write_set_format_pax(im.a) != ARCHIVE_OK) return im.failure("pax format");
  // No blocking beyond the 512-byte records: the stream ends right after the
  // two end blocks, as GNU tar --blocking-factor=1 and umoci write it.
  archive_write_set_bytes_per_block(im.a, 512);
  archive_write_set_bytes_in_last_block(im.a, 1);
  if (archive_write_open(im.a, &im, nullptr, write_cb, nullptr) != ARCHIVE_OK) return im.failure("open");
  return w;
}

Writer::~Writer() = default;

Status Writer::header(const Entry& e) {
  archive_entry* ae = archive_entry_new();
  if (!ae) return internal_error("{}: archive_entry_new failed", impl_->name);
  struct Free {
    archive_entry* p;
    ~Free() { archive_entry_free(p); }
  } guard{ae};
  archive_entry_copy_pathname(ae, e.path.c_str());
  unsigned type = AE_IFREG;
  switch (e.type) {
    case EntryType::kRegular: type = AE_IFREG; break;
    case EntryType::kDirectory: type = AE_IFDIR; break;
    case EntryType::kSymlink: type = AE_IFLNK; break;
    case EntryType::kHardlink: type = AE_IFREG; break;
    case EntryType::kCharDev: type = AE_IFCHR; break;
    case EntryType::kBlockDev: type = AE_IFBLK; break;
    case EntryType::kFifo: type = AE_IFIFO; break;
    case EntryType::kSocket: return input_error("{}: {}: sockets cannot be written to a layer", impl_->name, e.path);
  }
  archive_entry_set_filetype(ae, type);
  archive_entry_set_perm(ae, e.mode & 07777);
  archive_entry_set_uid(ae, e.uid);
  archive_entry_set_gid(ae, e.gid);
  archive_entry_set_mtime(ae, e.mtime_sec, e.mtime_nsec);
  if (e.type == EntryType::kRegular) archive_entry_set_size(ae, static_cast<la_int64_t>(e.size));
  else archive_entry_set_size(ae, 0);
  if (e.type == EntryType::kSymlink) archive_entry_copy_symlink(ae, e.link_target.c_str());
  if (e.type == EntryType::kHardlink) archive_entry_copy_hardlink(ae, e.link_target.c_str());
  if (e.type == EntryType::kCharDev || e.type == EntryType::kBlockDev) {
    archive_entry_set_rdevmajor(ae, e.dev_major);
    archive_entry_set_rdevminor(ae, e.dev_minor);
  }
  for (auto& [k, v] : e.xattrs) archive_entry_xattr_add_entry(ae, k.c_str(), v.data(), v.size());
  int r = archive_write_header(impl_->a, ae);
  if (r != ARCHIVE_OK) return impl_->failure(("header of " + e.path).c_str());
  return {};
}

Status Writer::data(ByteSpan bytes) {
  while (!bytes.empty()) {
    la_ssize_t n = archive_write_data(impl_->a, bytes.data(), bytes.size());
    if (n <= 0) return impl_->failure("data");
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return {};
}

Status Writer::close() {
  if (impl_->closed) return {};
  impl_->closed = true;
  if (archive_write_close(impl_->a) != ARCHIVE_OK) return impl_->failure("close");
  return {};
}

}  // namespace bootseal::tar
