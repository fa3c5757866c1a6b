// libFuzzer target: bootseal verify's disk entry point (GPT via libfdisk, the
// ESP via the FAT reader, the root via libext2fs, then every link) on a
// mutated small disk image written to a temporary file. Every problem must
// be a FAIL link, never a crash or a hang.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "verify/verify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootseal;
  static std::string path = [] {
    char tmpl[] = "/tmp/bootseal-verify-fuzz-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd >= 0) close(fd);
    return std::string(tmpl);
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  verify::Options o;
  o.targets = {path};
  o.deep = true;
  (void)verify::run(o);
  return 0;
}
