#include "initramfs/trace_ops.h"

#include <cctype>
#include <cstdlib>

namespace bootseal::initramfs {
namespace {

// Reads completed on whole disks so far (/proc/diskstats field 4; partitions, whose
// names end in a digit after a letter, are counted in their disk already).
uint64_t disk_reads(SystemOps& ops) {
  auto t = ops.read_text("/proc/diskstats");
  if (!t.ok()) return 0;
  uint64_t total = 0;
  size_t pos = 0;
  while (pos < t->size()) {
    size_t nl = t->find('\n', pos);
    if (nl == std::string::npos) nl = t->size();
    auto fields = bls::split_cmdline(std::string_view(*t).substr(pos, nl - pos));
    pos = nl + 1;
    if (fields.size() < 4) continue;
    std::string_view name = fields[2];
    if (name.starts_with("loop") || name.starts_with("ram") || std::isdigit(static_cast<unsigned char>(name.back())))
      continue;
    total += std::strtoull(std::string(fields[3]).c_str(), nullptr, 10);
  }
  return total;
}

}  // namespace

template <typename F>
auto TraceOps::timed(std::string what, F&& f) {
  uint64_t io0 = disk_reads(in_);
  uint64_t a = in_.now_us();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (calls_.empty() && t0_ == 0) t0_ = a;
  }
  auto r = f();
  uint64_t b = in_.now_us();
  uint64_t io1 = disk_reads(in_);
  uint64_t io = io1 > io0 ? io1 - io0 : 0;  // 0 also once /proc has moved away
  if (io) what += fmt::format(" [{} disk reads]", io);
  std::lock_guard<std::mutex> l(mu_);
  calls_.push_back({a - t0_, b - a, std::move(what)});
  return r;
}

std::vector<std::string> TraceOps::lines() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const Call& c : calls_)
    out.push_back(fmt::format("+{:.2f} {:.2f} {}", static_cast<double>(c.start_us) / 1000.0,
                              static_cast<double>(c.dur_us) / 1000.0, c.what));
  return out;
}

Result<std::string> TraceOps::read_text(const std::string& p) {
  return timed("read_text " + p, [&] { return in_.read_text(p); });
}
Result<Bytes> TraceOps::read_range(const std::string& p, uint64_t off, size_t len) {
  return timed(fmt::format("read_range {} {}+{}", p, off, len), [&] { return in_.read_range(p, off, len); });
}
Result<std::vector<std::string>> TraceOps::list_dir(const std::string& p) {
  return timed("list_dir " + p, [&] { return in_.list_dir(p); });
}
bool TraceOps::exists(const std::string& p) {
  return timed("exists " + p, [&] { return in_.exists(p); });
}
bool TraceOps::is_dir(const std::string& p) {
  return timed("is_dir " + p, [&] { return in_.is_dir(p); });
}
uint64_t TraceOps::file_size(const std::string& p) {
  return timed("file_size " + p, [&] { return in_.file_size(p); });
}
Status TraceOps::mkdir_p(const std::string& p) {
  return timed("mkdir_p " + p, [&] { return in_.mkdir_p(p); });
}
Status TraceOps::mount(const MountCall& m) {
  return timed(fmt::format("mount {} {} {} {:#x} {}", m.source, m.target, m.fstype, m.flags, m.data),
               [&] { return in_.mount(m); });
}
Result<int> TraceOps::open_read(const std::string& p) {
  return timed("open_read " + p, [&] { return in_.open_read(p); });
}
Result<std::string> TraceOps::attach_loop(const std::string& f) {
  return timed("attach_loop " + f, [&] { return in_.attach_loop(f); });
}
Result<std::pair<int, Bytes>> TraceOps::measure_verity(const std::string& p) {
  return timed("measure_verity " + p, [&] { return in_.measure_verity(p); });
}
Status TraceOps::enable_verity(const std::string& p, int alg) {
  return timed("enable_verity " + p, [&] { return in_.enable_verity(p, alg); });
}
Status TraceOps::sync_fs(const std::string& p) {
  return timed("sync_fs " + p, [&] { return in_.sync_fs(p); });
}
Status TraceOps::symlink(const std::string& t, const std::string& p) {
  return timed("symlink " + p, [&] { return in_.symlink(t, p); });
}
Status TraceOps::switch_root(const std::string& r) {
  return timed("switch_root " + r, [&] { return in_.switch_root(r); });
}
void TraceOps::sleep_ms(int ms) {
  timed(fmt::format("sleep_ms {}", ms), [&] {
    in_.sleep_ms(ms);
    return 0;
  });
}

}  // namespace bootseal::initramfs
