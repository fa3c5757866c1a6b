#include "initramfs/initrd.h"

#include <cstdio>
#include <algorithm>
#include <functional>
#include <set>

#include "cpio/cpio.h"
#include "sys/dirscan.h"
#include "sys/file.h"
#include "sys/process.h"
#include "sys/tree.h"

namespace bootseal::initramfs {
namespace {

constexpr std::string_view kInit = R"(#!/bin/sh
# bootseal generic initramfs /init (src/initramfs/initrd.cc)
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
  [ -n "$m" ] && { insmod "/$m" || echo "bootseal-initrd: insmod $m failed"; }
done < /etc/bootseal/modules
if [ -x /usr/bin/bootseal-setup-root ]; then
  exec /usr/bin/bootseal-setup-root
fi
echo "bootseal-initrd: no /usr/bin/bootseal-setup-root; starting an emergency shell"
exec sh
)";

// busybox applets linked in /bin (a fixed list keeps the archive deterministic).
constexpr const char* kApplets[] = {
    "sh",     "ash",   "mount",  "umount",   "insmod", "modprobe", "mkdir",   "cat",     "echo",  "ls",
    "dmesg",  "poweroff", "reboot", "halt",  "sleep",  "switch_root", "uname", "grep",   "sed",   "head",
    "tail",   "tr",    "cut",    "mountpoint", "stat", "sha256sum", "od",     "hexdump", "losetup", "blkid",
    "chroot", "cp",    "mv",     "rm",       "ln",     "test",     "[",       "true",    "false", "wc",
    "find",   "xargs", "printf", "readlink", "sync",   "dd",       "date",    "env",     "kill",  "ps"};

bool exists(const std::string& p) { return sys::stat_path(p).has_value(); }

Result<std::pair<std::string, std::string>> find_modules_dir(const std::string& dir) {
  if (exists(dir + "/modules.dep")) {
    std::string d = dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    return std::make_pair(d, sys::basename_of(d));
  }
  std::string base = dir + "/lib/modules";
  if (!exists(base)) base = dir + "/usr/lib/modules";
  Result<std::vector<std::string>> names = sys::list_dir_names(base);
  if (!names)
    return input_error("{}: no modules.dep here and no lib/modules/<kver>/ below it (run depmod?)", dir);
  std::vector<std::string> kvers;
  for (std::string& n : *names)
    if (exists(base + "/" + n + "/modules.dep")) kvers.push_back(std::move(n));
  if (kvers.size() != 1)
    return input_error("{}: expected exactly one kernel under {} with modules.dep, found {}", dir, base, kvers.size());
  return std::make_pair(base + "/" + kvers[0], kvers[0]);
}

std::string read_optional(const std::string& p) {
  auto r = sys::read_file(p);
  return r.ok() ? std::string(as_string(*r)) : std::string();
}

Result<Bytes> module_bytes(const std::string& path, bool decompress, bool /*verbose: sys echoes*/, std::string* archive_name) {
  struct Codec {
    const char* ext;
    const char* tool;
  };
  static constexpr Codec kCodecs[] = {{".xz", "xz"}, {".zst", "zstd"}, {".gz", "gzip"}};
  for (auto& c : kCodecs) {
    std::string_view ext(c.ext);
    if (decompress && path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0) {
      std::vector<std::string> argv = {c.tool, "-dc", path};
      std::string out = BS_TRY(sys::run_capture(argv));
      *archive_name = archive_name->substr(0, archive_name->size() - ext.size());
      return Bytes(out.begin(), out.end());
    }
  }
  return sys::read_file(path);
}

}  // namespace

std::string_view builtin_init() { return kInit; }

Result<bool> is_static_elf(ByteSpan elf) {
  // ELF64 header (System V gABI): e_ident[16], e_type u16 @16, e_phoff u64 @32,
  // e_phentsize u16 @54, e_phnum u16 @56; program header p_type u32 @0.
  constexpr uint32_t kPtInterp = 3;
  if (elf.size() < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F')
    return input_error("not an ELF file");
  if (elf[4] != 2 || elf[5] != 1) return unsupported_error("only 64-bit little-endian ELF is supported");
  ByteReader r(elf);
  uint64_t phoff = load_le<uint64_t>(elf.data() + 32);
  uint16_t phentsize = load_le<uint16_t>(elf.data() + 54), phnum = load_le<uint16_t>(elf.data() + 56);
  if (phentsize < 4) return input_error("ELF program header size {} is too small", phentsize);
  for (uint16_t i = 0; i < phnum; i++) {
    auto off = checked_add<uint64_t>(phoff, uint64_t{i} * phentsize);
    if (!off) return input_error("ELF program header offset overflows");
    ByteSpan ph = BS_TRY(r.at(*off, 4, "ELF program header"));
    if (load_le<uint32_t>(ph.data()) == kPtInterp) return false;
  }
  return true;
}

Result<Arch> elf_arch(ByteSpan elf) {
  // e_machine: u16 at 18 (System V gABI).
  if (elf.size() < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F')
    return input_error("not an ELF file");
  if (elf[5] != 1) return unsupported_error("only little-endian ELF is supported");
  uint16_t m = load_le<uint16_t>(elf.data() + 18);
  auto a = arch_from_elf_machine(m);
  if (!a) return unsupported_error("ELF machine {} is neither x86-64 (62) nor arm64 (183)", m);
  return *a;
}

namespace {
// The PT_INTERP path of an ELF64 LE file, "" if none (static).
Result<std::string> elf_interpreter(ByteSpan elf) {
  constexpr uint32_t kPtInterp = 3;
  if (BS_TRY(is_static_elf(elf))) return std::string();
  ByteReader r(elf);
  uint64_t phoff = load_le<uint64_t>(elf.data() + 32);
  uint16_t phentsize = load_le<uint16_t>(elf.data() + 54), phnum = load_le<uint16_t>(elf.data() + 56);
  if (phentsize < 40) return input_error("ELF program header size {} is too small", phentsize);
  for (uint16_t i = 0; i < phnum; i++) {
    auto off = checked_add<uint64_t>(phoff, uint64_t{i} * phentsize);
    if (!off) return input_error("ELF program header offset overflows");
    ByteSpan ph = BS_TRY(r.at(*off, 40, "ELF program header"));
    if (load_le<uint32_t>(ph.data()) != kPtInterp) continue;
    uint64_t o = load_le<uint64_t>(ph.data() + 8), n = load_le<uint64_t>(ph.data() + 32);
    ByteSpan in = BS_TRY(r.at(o, static_cast<size_t>(n), "ELF interpreter"));
    std::string s(reinterpret_cast<const char*>(in.data()), in.size());
    while (!s.empty() && s.back() == '\0') s.pop_back();
    return s;
  }
  return std::string();
}

// Host library path -> its path in the initrd (whose /lib is a symlink to usr/lib).
std::string archive_lib_path(const std::string& host) {
  std::string p = host;
  while (!p.empty() && p[0] == '/') p.erase(0, 1);
  if (p.rfind("lib/", 0) == 0) p = "usr/" + p;
  return p;
}

// An executable for the initrd must be built for its architecture.
Status check_elf_arch(ByteSpan elf, const std::optional<Arch>& want, std::string_view what, const std::string& path) {
  if (!want) return {};
  Arch got = BS_TRY_CTX(elf_arch(elf), "{} {}", what, path);
  if (got != *want)
    return input_error("{} {} is an {} executable but the target is {}", what, path, arch_name(got), arch_name(*want));
  return {};
}
}  // namespace

Result<std::vector<std::string>> library_closure(const std::string& path, const std::vector<std::string>& extra) {
  Bytes elf = BS_TRY(sys::read_file(path));
  std::string interp = BS_TRY_CTX(elf_interpreter(elf), "{}", path);
  if (interp.empty()) return std::vector<std::string>();
  std::set<std::string> libs;
  std::set<std::string> dirs;
  auto list = [&](const std::string& file) -> Status {
    std::string out = BS_TRY_CTX(sys::run_capture({interp, "--list", file}), "resolving the libraries of {}", file);
    size_t pos = 0;
    while (pos < out.size()) {
      size_t e = out.find('\n', pos);
      if (e == std::string::npos) e = out.size();
      std::string line = out.substr(pos, e - pos);
      pos = e + 1;
      if (line.find("not found") != std::string::npos)
        return input_error("{}: a library is missing on this host: {}", file, line);
      std::string lib;
      if (auto arrow = line.find("=> "); arrow != std::string::npos) lib = line.substr(arrow + 3);
      else lib = line;
      while (!lib.empty() && (lib[0] == ' ' || lib[0] == '\t')) lib.erase(0, 1);
      if (auto sp = lib.find(" ("); sp != std::string::npos) lib.resize(sp);
      if (lib.empty() || lib[0] != '/') continue;  // linux-vdso.so.1 and the like
      libs.insert(lib);
      dirs.insert(sys::dirname_of(lib));
    }
    return {};
  };
  BS_TRY(list(path));
  for (const std::string& name : extra) {
    std::string found;
    for (const std::string& d : dirs)
      if (exists(d + "/" + name)) {
        found = d + "/" + name;
        break;
      }
    if (found.empty()) return input_error("{}: {} (loaded at run time) is not installed beside its libraries", path, name);
    libs.insert(found);
    BS_TRY(list(found));
  }
  libs.erase(interp);
  std::vector<std::string> out = {interp};
  out.insert(out.end(), libs.begin(), libs.end());
  return out;
}

Result<InitrdResult> build_initrd(const InitrdOptions& o) {
  InitrdResult res;
  cpio::Writer w(o.mtime);
  for (const char* d : {"proc", "sys", "dev", "run", "tmp", "sysroot", "mnt", "etc", "usr/bin", "sbin", "root"})
    BS_TRY(w.add_dir(d, std::string_view(d) == "tmp" ? 01777 : 0755));
  // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
  BS_TRY(w.add_device("dev/console", false, 5, 1, 0600));
  BS_TRY(w.add_device("dev/null", false, 1, 3, 0666));

  // busybox and its applets.
  Bytes bb = BS_TRY_CTX(sys::read_file(o.busybox), "busybox");
  if (!BS_TRY_CTX(is_static_elf(bb), "busybox {}", o.busybox))
    return input_error("busybox {} is dynamically linked; the initramfs has no loader (use busybox-static)", o.busybox);
  BS_TRY(check_elf_arch(bb, o.arch, "busybox", o.busybox));
  BS_TRY(w.add_file("bin/busybox", std::move(bb), 0755));
  for (const char* a : kApplets) BS_TRY(w.add_symlink(fmt::format("bin/{}", a), "busybox"));

  // /init
  if (o.init_file.empty()) {
    BS_TRY(w.add_file("init", Bytes(kInit.begin(), kInit.end()), 0755));
  } else {
    Bytes init = BS_TRY_CTX(sys::read_file(o.init_file), "--init");
    BS_TRY(w.add_file("init", std::move(init), 0755));
  }

  if (!o.setup_root.empty()) {
    Bytes sr = BS_TRY_CTX(sys::read_file(o.setup_root), "--setup-root");
    if (!BS_TRY_CTX(is_static_elf(sr), "--setup-root {}", o.setup_root))
      return input_error("--setup-root {} is dynamically linked; build the bootseal-setup-root target", o.setup_root);
    BS_TRY(check_elf_arch(sr, o.arch, "--setup-root", o.setup_root));
    BS_TRY(w.add_file("usr/bin/bootseal-setup-root", std::move(sr), 0755));
  }

  std::vector<std::string> modules = o.modules;
  if (!o.unlock.empty()) {
    Bytes ub = BS_TRY_CTX(sys::read_file(o.unlock), "--unlock");
    BS_TRY(check_elf_arch(ub, o.arch, "--unlock", o.unlock));
    BS_TRY(w.add_file(std::string(kUnlockPath.substr(1)), std::move(ub), 0755));
    // libtss2-tctildr dlopen()s the TCTI of a device:/dev/tpmrm0 TPM.
    for (const std::string& lib : BS_TRY(library_closure(o.unlock, {"libtss2-tcti-device.so.0"})))
      BS_TRY(w.add_file(archive_lib_path(lib), BS_TRY(sys::read_file(lib)), 0755));
    for (const std::string& m : kUnlockModules)
      if (std::find(modules.begin(), modules.end(), m) == modules.end()) modules.push_back(m);
  }

  // Kernel modules.
  std::string modlist;
  if (!o.modules_dir.empty() && !modules.empty()) {
    auto [dir, kver] = BS_TRY(find_modules_dir(o.modules_dir));
    res.kver = kver;
    std::string dep = BS_TRY_CTX(sys::read_text_file(dir + "/modules.dep"), "kernel modules");
    auto ix = BS_TRY_CTX(ModuleIndex::parse(dep, read_optional(dir + "/modules.softdep"),
                                            read_optional(dir + "/modules.alias"),
                                            read_optional(dir + "/modules.builtin")),
                         "{}", dir);
    auto files = BS_TRY_CTX(ix.resolve(modules), "{}", dir);
    for (auto& rel : files) {
      std::string name = fmt::format("usr/lib/modules/{}/{}", kver, rel);
      Bytes data = BS_TRY(module_bytes(dir + "/" + rel, o.decompress_modules, o.verbose, &name));
      BS_TRY(w.add_file(name, std::move(data), 0644));
      modlist += name + "\n";
      res.modules.push_back(name);
    }
  }
  BS_TRY(w.add_file(std::string(kModuleListPath), Bytes(modlist.begin(), modlist.end()), 0644));
  BS_TRY(w.add_symlink("lib", "usr/lib"));

  // Extra files: regular files, symlinks, and directories with everything below them.
  std::function<Status(const std::string&, const std::string&, const struct stat&)> add_tree =
      [&](const std::string& src, const std::string& dst, const struct stat& st) -> Status {
    if (S_ISREG(st.st_mode)) return w.add_file(dst, BS_TRY(sys::read_file(src)), st.st_mode & 07777);
    if (S_ISLNK(st.st_mode)) return w.add_symlink(dst, BS_TRY(sys::read_link(src)));
    if (!S_ISDIR(st.st_mode)) return input_error("{}: only regular files, symlinks and directories can be added", src);
    BS_TRY(w.add_dir(dst, st.st_mode & 07777));
    for (const sys::DirEntry& e : BS_TRY(sys::list_dir(src)))
      BS_TRY(add_tree(src + "/" + e.name, dst + "/" + e.name, e.st));
    return {};
  };
  for (auto& [src, dst] : o.add) {
    struct stat st = BS_TRY_CTX(sys::lstat_path(src), "--add {}", src);
    if (S_ISLNK(st.st_mode) && dst.empty()) {
      // A bare PATH that is a symlink: what it points at, at its own path.
      std::optional<struct stat> target = sys::stat_path(src);
      if (!target) return input_error("--add {}: a symlink to nothing", src);
      st = *target;
    }
    std::string to = dst.empty() ? src : dst;
    while (!to.empty() && to[0] == '/') to.erase(0, 1);
    if (to.empty()) return input_error("--add {}: no destination path in the archive", src);
    BS_TRY_CTX(add_tree(src, to, st), "--add {}", src);
  }

  res.members = w.size();
  Bytes archive = BS_TRY(w.finish());
  res.uncompressed_size = archive.size();
  if (o.compress == "none") {
    res.archive = std::move(archive);
    return res;
  }
  std::vector<std::string> argv;
  if (o.compress == "zstd")
    argv = {"zstd", "-q", "-19", "-c"};
  else if (o.compress == "xz")
    argv = {"xz", "-q", "--check=crc32", "-9", "-c"};  // the kernel's xz needs CRC32
  else
    return input_error("unknown compression '{}' (expected none, zstd or xz)", o.compress);
  // Through a temporary file: the tools read a file, their stdout is captured.
  std::string tdir = BS_TRY(sys::make_temp_dir("bootseal-initrd-"));
  std::string tmp = tdir + "/initrd.cpio";
  Result<std::string> out = [&]() -> Result<std::string> {
    sys::Fd fd = BS_TRY(sys::open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600));
    BS_TRY(sys::write_full(fd.get(), archive, tmp));
    argv.push_back(tmp);
    return sys::run_capture(argv);
  }();
  (void)sys::remove_tree(tdir);
  if (!out.ok()) return std::move(out).error();
  res.archive.assign(out->begin(), out->end());
  return res;
}

}  // namespace bootseal::initramfs
