// libFuzzer target: the composefs dumpfile parser, then the image writer and
// the reader on whatever parses (mkcomposefs's own fuzzer does the same). Any
// parsed tree must produce an image that reads back and prints again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "composefs/image.h"
#include "fstree/dumpfile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootseal;
  if (size > (1 << 20)) return 0;
  auto tree = fstree::parse_dumpfile(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!tree.ok()) return 0;
  (void)fstree::print_dumpfile(*tree);
  if (auto v2 = composefs::build_image_v2(*tree); v2.ok() && !composefs::read_image(v2->data).ok()) std::abort();
  auto img = composefs::build_image(*tree);
  if (!img.ok()) return 0;
  auto back = composefs::read_image(img->data);
  if (!back.ok()) std::abort();  // our own image must read back
  (void)fstree::print_dumpfile(*back);
  return 0;
}
