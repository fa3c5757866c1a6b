// libFuzzer target: the EROFS/composefs image reader on arbitrary bytes.
// Must return an error or a tree, never crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>

#include "composefs/image.h"
#include "erofs/reader.h"
#include "fstree/dumpfile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace bootseal;
  ByteSpan img(data, size);
  erofs::ReadLimits limits;
  limits.max_depth = 64;
  limits.max_entries = 100000;
  auto raw = erofs::read_image(img, limits);
  if (raw.ok()) (void)fstree::print_dumpfile(*raw);
  auto t = composefs::read_image(img);
  if (t.ok()) (void)fstree::print_dumpfile(*t);
  return 0;
}
