// The real SystemOps for bootseal-setup-root: every call goes to sys/.
#pragma once

#include "initramfs/setup_root.h"

namespace bootseal::initramfs {

class RealOps : public SystemOps {
 public:
  ~RealOps() override;
  Result<std::string> read_text(const std::string& path) override;
  Result<Bytes> read_range(const std::string& path, uint64_t offset, size_t len) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  bool exists(const std::string& path) override;
  bool is_dir(const std::string& path) override;
  uint64_t file_size(const std::string& path) override;
  Status mkdir_p(const std::string& path) override;
  Status mount(const MountCall& m) override;
  Result<int> open_read(const std::string& path) override;
  Result<std::string> attach_loop(const std::string& file) override;
  Result<std::pair<int, Bytes>> measure_verity(const std::string& path) override;
  Status enable_verity(const std::string& path, int hash_algorithm) override;
  Status sync_fs(const std::string& path) override;
  Status symlink(const std::string& target, const std::string& path) override;
  Status switch_root(const std::string& newroot) override;
  Status exec_init(const std::string& init) override;
  Result<int> run(const std::vector<std::string>& argv) override;
  void sleep_ms(int ms) override;
  uint64_t now_us() override;
  void console(const std::string& line) override;

 private:
  std::vector<int> open_fds_;  // closed on exec (O_CLOEXEC) or when RealOps ends
};

}  // namespace bootseal::initramfs
