// Kernel module dependency resolution from a depmod'ed tree (modules.dep,
// modules.softdep, modules.alias, modules.builtin). Pure: text in, lists out.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace bootseal::initramfs {

// The modules the tiny/sealed initramfs needs by default: the composefs stack
// (erofs, overlay, loop), the root filesystem (ext4) and the virtio disk.
inline const std::vector<std::string> kDefaultModules = {"virtio_blk", "ext4", "loop", "erofs", "overlay"};

// "crc32c-generic", "crc32c_generic.ko.xz", "kernel/crypto/crc32c_generic.ko" -> "crc32c_generic".
std::string module_name(std::string_view name_or_path);

class ModuleIndex {
 public:
  // Texts of modules.dep, modules.softdep, modules.alias and modules.builtin (the
  // last three may be empty).
  static Result<ModuleIndex> parse(std::string_view dep, std::string_view softdep, std::string_view alias,
                                   std::string_view builtin);

  bool is_builtin(const std::string& name) const { return builtin_.count(module_name(name)) > 0; }
  bool has(const std::string& name) const { return path_.count(module_name(name)) > 0; }

  // The module files (paths relative to the modules directory) to load for `names`,
  // in load order: each module after its dependencies and its "pre:" softdeps
  // (resolved through modules.alias), "post:" softdeps after it. Built-in modules
  // are skipped; an unknown name is an error naming it. Soft dependencies that
  // resolve to nothing are ignored (as modprobe does).
  Result<std::vector<std::string>> resolve(const std::vector<std::string>& names) const;

 private:
  Status visit(const std::string& name, bool soft, std::vector<std::string>& out, std::set<std::string>& done,
               std::set<std::string>& active, int depth) const;
  std::vector<std::string> alias_targets(const std::string& name) const;
  std::map<std::string, std::string> path_;                  // name -> relative path
  std::map<std::string, std::vector<std::string>> deps_;     // name -> dep paths (modules.dep order)
  std::map<std::string, std::vector<std::string>> pre_, post_;  // softdeps by name (names or aliases)
  std::multimap<std::string, std::string> alias_;           // exact alias -> module name
  std::set<std::string> builtin_;
};

}  // namespace bootseal::initramfs
