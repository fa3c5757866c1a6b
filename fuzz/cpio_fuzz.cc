// libFuzzer target: the cpio newc reader (cpio/cpio.h). Links only bootseal::cpio.
// Whatever it reads must write back (after normalizing paths) without error.
#include <cstddef>
#include <cstdint>

#include "cpio/cpio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bootseal::cpio::ReadOptions o;
  o.max_entries = 4096;
  o.max_total = 1 << 24;
  size_t end = 0;
  auto r = bootseal::cpio::read_archive(bootseal::ByteSpan(data, size), &end, o);
  if (!r.ok()) return 0;
  if (end > size) __builtin_trap();
  bootseal::cpio::Writer w;
  for (auto& e : *r) (void)w.add(e);  // may refuse odd paths; must not crash
  auto out = w.finish();
  if (!out.ok()) __builtin_trap();
  auto again = bootseal::cpio::read_archive(*out);
  if (!again.ok() || again->size() != w.size()) __builtin_trap();
  return 0;
}
