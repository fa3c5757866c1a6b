// libFuzzer target: the FAT reader (src/fat) on arbitrary bytes: open, list
// every directory it can reach (bounded) and read every file. Must return
// errors, never crash, hang or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fat/fat.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootseal;
  auto v = fat::Volume::open(ByteSpan(data, size));
  if (!v.ok()) return 0;
  std::vector<std::string> dirs{"/"};
  for (size_t i = 0; i < dirs.size() && i < 64; i++) {
    auto entries = v->list(dirs[i]);
    if (!entries.ok()) continue;
    for (const auto& e : *entries) {
      std::string path = (dirs[i] == "/" ? "" : dirs[i]) + "/" + e.name;
      if (e.is_dir) dirs.push_back(path);
      else (void)v->read(e);
    }
  }
  (void)v->read_file("/EFI/BOOT/BOOTX64.EFI");
  return 0;
}
