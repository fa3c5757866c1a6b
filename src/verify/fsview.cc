#include "verify/fsview.h"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include "ext4/ext4.h"
#include "fat/fat.h"
#include "sys/dirscan.h"
#include "sys/file.h"

namespace bootseal::verify {
namespace {

std::string join(const std::string& root, std::string_view path) {
  std::string p(path);
  while (!p.empty() && p[0] == '/') p.erase(0, 1);
  return p.empty() ? root : root + "/" + p;
}

class DirView : public FsView {
 public:
  DirView(std::string root, std::string role) : root_(std::move(root)), role_(std::move(role)) {}
  std::string describe() const override { return fmt::format("{}: directory {}", role_, root_); }
  Result<std::optional<FileInfo>> stat(std::string_view path) override {
    auto st = sys::lstat_path(join(root_, path));
    if (!st) return std::optional<FileInfo>();
    FileInfo fi;
    fi.type = S_ISREG(st->st_mode) ? FileInfo::kFile : S_ISDIR(st->st_mode) ? FileInfo::kDir
              : S_ISLNK(st->st_mode) ? FileInfo::kSymlink : FileInfo::kOther;
    fi.size = static_cast<uint64_t>(st->st_size);
    return std::optional<FileInfo>(fi);
  }
  Result<std::vector<std::string>> list(std::string_view path) override {
    return sys::list_dir_names(join(root_, path));
  }
  Result<Bytes> read(std::string_view path) override { return sys::read_file(join(root_, path)); }
  Result<std::string> readlink(std::string_view path) override { return sys::read_link(join(root_, path)); }

 private:
  std::string root_, role_;
};

class FatView : public FsView {
 public:
  FatView(fat::Volume v, std::string d) : vol_(std::move(v)), desc_(std::move(d)) {}
  std::string describe() const override { return desc_; }
  Result<std::optional<FileInfo>> stat(std::string_view path) override {
    auto e = BS_TRY_CTX(vol_.lookup(path), "{}", desc_);
    if (!e) return std::optional<FileInfo>();
    FileInfo fi;
    fi.type = e->is_dir ? FileInfo::kDir : FileInfo::kFile;
    fi.size = e->size;
    return std::optional<FileInfo>(fi);
  }
  Result<std::vector<std::string>> list(std::string_view path) override {
    auto entries = BS_TRY_CTX(vol_.list(path), "{}", desc_);
    std::vector<std::string> out;
    for (auto& e : entries) out.push_back(e.name);
    return out;
  }
  Result<Bytes> read(std::string_view path) override { return BS_TRY_CTX(vol_.read_file(path), "{}", desc_); }
  Result<std::string> readlink(std::string_view path) override {
    return input_error("{}: FAT has no symlinks ({})", desc_, path);
  }

 private:
  fat::Volume vol_;
  std::string desc_;
};

class Ext4View : public FsView {
 public:
  Ext4View(std::unique_ptr<ext4::Volume> v, std::string path, uint64_t offset, ByteSpan mapped, std::string d)
      : vol_(std::move(v)), path_(std::move(path)), offset_(offset), mapped_(mapped), desc_(std::move(d)) {
    if (auto fd = sys::open_file(path_, 0 /* O_RDONLY */)) fd_ = std::move(*fd);
  }
  std::string describe() const override { return desc_; }
  Result<std::optional<FileInfo>> stat(std::string_view path) override {
    std::lock_guard lock(mu_);
    auto st = BS_TRY_CTX(vol_->stat(path), "{}", desc_);
    if (!st) return std::optional<FileInfo>();
    FileInfo fi;
    fi.type = st->is_reg() ? FileInfo::kFile : st->is_dir() ? FileInfo::kDir : st->is_symlink() ? FileInfo::kSymlink
                                                                                              : FileInfo::kOther;
    fi.size = st->size;
    fi.verity = st->verity;
    return std::optional<FileInfo>(fi);
  }
  Result<std::vector<std::string>> list(std::string_view path) override {
    std::lock_guard lock(mu_);
    auto entries = BS_TRY_CTX(vol_->list(path), "{}", desc_);
    std::vector<std::string> out;
    for (auto& e : entries) out.push_back(e.name);
    return out;
  }
  Result<Bytes> read(std::string_view path) override {
    std::vector<ext4::Extent> extents;
    uint64_t size = 0;
    {
      std::lock_guard lock(mu_);
      auto st = BS_TRY_CTX(vol_->stat(path), "{}", desc_);
      if (!st) return input_error("{}: no file {}", desc_, path);
      if (!st->is_reg()) return input_error("{}: {} is not a regular file", desc_, path);
      size = st->size;
      auto ex = vol_->extents(st->ino);
      if (!ex || mapped_.empty()) return BS_TRY_CTX(vol_->read_ino(st->ino), "{}: {}", desc_, path);
      extents = std::move(*ex);
    }
    Bytes out(size, 0);
    for (const auto& e : extents) {
      if (e.logical > size || e.length > size - e.logical || offset_ + e.physical > mapped_.size() ||
          e.length > mapped_.size() - offset_ - e.physical)
        return input_error("{}: {}: an extent lies outside the file or the disk", desc_, path);
      // pread from the page cache: cheaper than faulting in the mapping page by page.
      if (fd_.get() >= 0) {
        auto n = sys::pread_full(fd_.get(), out.data() + e.logical, e.length, offset_ + e.physical, path_);
        if (n && *n == e.length) continue;
      }
      std::copy_n(mapped_.data() + offset_ + e.physical, e.length, out.data() + e.logical);
    }
    return out;
  }
  Result<std::string> readlink(std::string_view path) override {
    std::lock_guard lock(mu_);
    return BS_TRY_CTX(vol_->readlink(path), "{}", desc_);
  }

 private:
  std::mutex mu_;
  std::unique_ptr<ext4::Volume> vol_;
  std::string path_;
  sys::Fd fd_;
  uint64_t offset_;
  ByteSpan mapped_;
  std::string desc_;
};

}  // namespace

std::unique_ptr<FsView> dir_view(const std::string& root, std::string role) {
  return std::make_unique<DirView>(root, std::move(role));
}

Result<std::unique_ptr<FsView>> fat_view(ByteSpan data, std::string description) {
  fat::Volume v = BS_TRY_CTX(fat::Volume::open(data), "{}", description);
  description += fmt::format(" (FAT{})", v.fat_bits());
  return std::unique_ptr<FsView>(std::make_unique<FatView>(std::move(v), std::move(description)));
}

Result<std::unique_ptr<FsView>> ext4_view(const std::string& path, uint64_t offset, ByteSpan mapped,
                                          std::string description) {
  auto v = BS_TRY_CTX(ext4::Volume::open(path, offset), "{}", description);
  return std::unique_ptr<FsView>(std::make_unique<Ext4View>(std::move(v), path, offset, mapped, std::move(description)));
}

}  // namespace bootseal::verify
