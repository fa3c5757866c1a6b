#include "ext4/ext4.h"

#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

#include <fmt/format.h>

namespace bootseal::ext4 {

struct Volume::Impl {
  ext2_filsys fs = nullptr;
  std::string path;
};

namespace {

std::string err(errcode_t e) { return error_message(e); }

}  // namespace

Volume::~Volume() {
  if (impl_ && impl_->fs) ext2fs_close_free(&impl_->fs);
}

Result<std::unique_ptr<Volume>> Volume::open(const std::string& path, uint64_t offset) {
  std::unique_ptr<Volume> v(new Volume);
  v->impl_ = std::make_unique<Impl>();
  v->impl_->path = path;
  std::string opts = fmt::format("offset={}", offset);
  errcode_t e = ext2fs_open2(path.c_str(), opts.c_str(), EXT2_FLAG_64BITS, 0, 0,
                             unix_io_manager, &v->impl_->fs);
  if (e) {
    v->impl_->fs = nullptr;
    return input_error("ext4 superblock at offset {}: {}", offset, err(e));
  }
  ext2_filsys fs = v->impl_->fs;
  if (fs->super->s_magic != EXT2_SUPER_MAGIC) return input_error("ext4 superblock: bad magic");
  // ext2fs_open2 reads the group descriptors but does not check where they point
  // (e2fsck does): a zeroed or corrupted table would send every inode read to block 0.
  if (errcode_t d = ext2fs_check_desc(fs))
    return input_error("ext4 group descriptors at offset {}: {}", offset, err(d));
  return v;
}

uint64_t Volume::block_size() const { return impl_->fs->blocksize; }
uint64_t Volume::size_bytes() const { return ext2fs_blocks_count(impl_->fs->super) * impl_->fs->blocksize; }
bool Volume::has_verity_feature() const { return ext2fs_has_feature_verity(impl_->fs->super); }
std::string Volume::label() const {
  const char* l = reinterpret_cast<const char*>(impl_->fs->super->s_volume_name);
  return std::string(l, strnlen(l, sizeof(impl_->fs->super->s_volume_name)));
}

Result<Stat> Volume::stat_ino(uint32_t ino) {
  struct ext2_inode_large inode {};
  errcode_t e = ext2fs_read_inode_full(impl_->fs, ino, reinterpret_cast<ext2_inode*>(&inode), sizeof(inode));
  if (e) return input_error("ext4 inode {}: {}", ino, err(e));
  Stat s;
  s.ino = ino;
  s.mode = inode.i_mode;
  s.size = EXT2_I_SIZE(&inode);
  s.verity = inode.i_flags & EXT4_VERITY_FL;
  return s;
}

Result<std::optional<Stat>> Volume::stat(std::string_view path) {
  ext2_ino_t ino = 0;
  std::string p(path);
  if (p.empty() || p[0] != '/') p = "/" + p;
  errcode_t e = ext2fs_namei(impl_->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, p.c_str(), &ino);
  if (e == EXT2_ET_FILE_NOT_FOUND || e == EXT2_ET_NO_DIRECTORY) return std::optional<Stat>();
  if (e) return input_error("ext4: looking up {}: {}", p, err(e));
  return std::optional<Stat>(BS_TRY(stat_ino(ino)));
}

namespace {
struct ListCtx {
  std::vector<DirEntry>* out;
  size_t limit;
  bool overflow = false;
};
int list_cb(ext2_ino_t, int, struct ext2_dir_entry* d, int, int, char*, void* priv) {
  auto* c = static_cast<ListCtx*>(priv);
  size_t len = ext2fs_dirent_name_len(d);
  std::string name(d->name, len);
  if (name == "." || name == "..") return 0;
  if (c->out->size() >= c->limit) {
    c->overflow = true;
    return DIRENT_ABORT;
  }
  c->out->push_back({std::move(name), d->inode});
  return 0;
}
}  // namespace

Result<std::vector<DirEntry>> Volume::list(std::string_view path) {
  auto st = BS_TRY(stat(path));
  if (!st) return input_error("ext4: no directory {}", path);
  if (!st->is_dir()) return input_error("ext4: {} is not a directory", path);
  std::vector<DirEntry> out;
  ListCtx ctx{&out, 10'000'000};
  errcode_t e = ext2fs_dir_iterate2(impl_->fs, st->ino, 0, nullptr, list_cb, &ctx);
  if (e) return input_error("ext4: reading directory {}: {}", path, err(e));
  if (ctx.overflow) return input_error("ext4: directory {} has too many entries", path);
  return out;
}

Result<Bytes> Volume::read_ino(uint32_t ino, uint64_t max_bytes) {
  Stat st = BS_TRY(stat_ino(ino));
  if (st.size > max_bytes) return input_error("ext4: inode {} is {} bytes, more than the {} allowed", ino, st.size, max_bytes);
  ext2_file_t f = nullptr;
  errcode_t e = ext2fs_file_open(impl_->fs, ino, 0, &f);
  if (e) return input_error("ext4: opening inode {}: {}", ino, err(e));
  Bytes out(st.size);
  uint64_t done = 0;
  while (done < st.size) {
    unsigned int got = 0;
    unsigned int want = static_cast<unsigned int>(std::min<uint64_t>(st.size - done, 1u << 24));
    e = ext2fs_file_read(f, out.data() + done, want, &got);
    if (e) {
      ext2fs_file_close(f);
      return input_error("ext4: reading inode {}: {}", ino, err(e));
    }
    if (got == 0) break;
    done += got;
  }
  ext2fs_file_close(f);
  if (done != st.size) return input_error("ext4: inode {}: read {} of {} bytes", ino, done, st.size);
  return out;
}

Result<Bytes> Volume::read(std::string_view path, uint64_t max_bytes) {
  auto st = BS_TRY(stat(path));
  if (!st) return input_error("ext4: no file {}", path);
  if (!st->is_reg()) return input_error("ext4: {} is not a regular file", path);
  return BS_TRY_CTX(read_ino(st->ino, max_bytes), "{}", path);
}

Result<std::string> Volume::readlink(std::string_view path) {
  auto st = BS_TRY(stat(path));
  if (!st) return input_error("ext4: no symlink {}", path);
  if (!st->is_symlink()) return input_error("ext4: {} is not a symlink", path);
  if (st->size > 4096) return input_error("ext4: symlink {} is {} bytes long", path, st->size);
  struct ext2_inode inode {};
  errcode_t e = ext2fs_read_inode(impl_->fs, st->ino, &inode);
  if (e) return input_error("ext4: inode {}: {}", st->ino, err(e));
  if (ext2fs_is_fast_symlink(&inode)) {
    const char* p = reinterpret_cast<const char*>(inode.i_block);
    return std::string(p, std::min<size_t>(st->size, sizeof(inode.i_block)));
  }
  if (inode.i_flags & EXT4_INLINE_DATA_FL) {
    char buf[4096];
    size_t n = sizeof(buf);
    e = ext2fs_inline_data_get(impl_->fs, st->ino, &inode, buf, &n);
    if (e) return input_error("ext4: symlink {}: {}", path, err(e));
    return std::string(buf, std::min<size_t>(n, st->size));
  }
  Bytes b = BS_TRY(read_ino(st->ino, 4096));
  return std::string(b.begin(), b.end());
}

Result<std::vector<Extent>> Volume::extents(uint32_t ino) {
  struct ext2_inode inode {};
  errcode_t e = ext2fs_read_inode(impl_->fs, ino, &inode);
  if (e) return input_error("ext4 inode {}: {}", ino, err(e));
  if (inode.i_flags & EXT4_INLINE_DATA_FL) return input_error("ext4 inode {}: inline data", ino);
  const uint64_t bs = impl_->fs->blocksize;
  const uint64_t size = EXT2_I_SIZE(&inode);
  const uint64_t fs_bytes = size_bytes();
  std::vector<Extent> out;
  auto add = [&](uint64_t lblk, uint64_t pblk, uint64_t n) -> Status {
    uint64_t logical = lblk * bs, physical = pblk * bs, len = n * bs;
    if (logical >= size) return {};
    len = std::min(len, size - logical);
    if (physical > fs_bytes || len > fs_bytes - physical)
      return input_error("ext4 inode {}: extent at block {} is past the filesystem's end", ino, pblk);
    if (!out.empty() && out.back().logical + out.back().length == logical &&
        out.back().physical + out.back().length == physical)
      out.back().length += len;
    else
      out.push_back({logical, physical, len});
    return {};
  };
  if (inode.i_flags & EXT4_EXTENTS_FL) {
    ext2_extent_handle_t h = nullptr;
    e = ext2fs_extent_open2(impl_->fs, ino, &inode, &h);
    if (e) return input_error("ext4 inode {}: extent tree: {}", ino, err(e));
    struct ext2fs_extent ex {};
    int op = EXT2_EXTENT_ROOT;
    size_t steps = 0;
    while (true) {
      e = ext2fs_extent_get(h, op, &ex);
      op = EXT2_EXTENT_NEXT;
      if (e == EXT2_ET_EXTENT_NO_NEXT) break;
      if (e) {
        ext2fs_extent_free(h);
        return input_error("ext4 inode {}: extent tree: {}", ino, err(e));
      }
      if (++steps > 10'000'000) {
        ext2fs_extent_free(h);
        return input_error("ext4 inode {}: extent tree too large", ino);
      }
      if (!(ex.e_flags & EXT2_EXTENT_FLAGS_LEAF)) continue;
      if (ex.e_flags & EXT2_EXTENT_FLAGS_UNINIT) continue;
      if (!out.empty() && ex.e_lblk * bs < out.back().logical + out.back().length) {
        ext2fs_extent_free(h);
        return input_error("ext4 inode {}: extents out of order", ino);
      }
      Status s = add(ex.e_lblk, ex.e_pblk, ex.e_len);
      if (!s) {
        ext2fs_extent_free(h);
        return s.error();
      }
    }
    ext2fs_extent_free(h);
    return out;
  }
  // Block-mapped (ext2/3 style) files.
  uint64_t nblocks = (size + bs - 1) / bs;
  for (uint64_t b = 0; b < nblocks; b++) {
    blk64_t phys = 0;
    e = ext2fs_bmap2(impl_->fs, ino, &inode, nullptr, 0, b, nullptr, &phys);
    if (e) return input_error("ext4 inode {}: block map: {}", ino, err(e));
    if (phys) BS_TRY(add(b, phys, 1));
  }
  return out;
}

}  // namespace bootseal::ext4
