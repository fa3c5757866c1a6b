// libFuzzer target: the PE parser, Authenticode ranges, the section writer and
// UKI inspection on arbitrary bytes. Links bootseal::uki (which pulls in pe, bls, base).
#include <cstddef>
#include <algorithm>
#include <cstdint>

#include "pe/pe.h"
#include "pe/writer.h"
#include "uki/uki.h"

using namespace bootseal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteSpan in(data, size);
  (void)pe::looks_like_pe(in);
  auto img = pe::parse(in);
  if (!img.ok()) return 0;
  // Everything parse() accepted must be safe to walk.
  for (auto& s : img->sections) {
    ByteSpan d = pe::section_data(in, s);
    if (!d.empty() && (d.data() < data || d.data() + d.size() > data + size)) __builtin_trap();
  }
  (void)pe::compute_checksum(in, img->checksum_offset);
  if (auto r = pe::authenticode_ranges(*img); r.ok())
    for (auto& range : r->ranges)
      if (!in_bounds(range.offset, range.size, size)) __builtin_trap();
  (void)uki::inspect(in);
  // parse_headers() on the header bytes alone agrees with parse(); the file as
  // a layout reads back as the file and sums as the file.
  auto head = pe::parse_headers(in.first(std::min<size_t>(img->SizeOfHeaders, size)), size);
  if (!head.ok() || head->sections.size() != img->sections.size()) __builtin_trap();
  pe::Layout whole = pe::Layout::of_file(in, img->SizeOfHeaders);
  if (whole.read(0, size) != Bytes(in.begin(), in.end())) __builtin_trap();
  if (whole.word_sum() != pe::checksum_word_sum(in, 0)) __builtin_trap();
  // Writer round trip: adding a section must give an image the parser accepts.
  if (size < (1u << 20)) {
    auto ed = pe::Editor::open(in);
    if (ed.ok() && ed->add_section(".cmdline", Bytes{'x'}, pe::kScnCntInitializedData | pe::kScnMemRead).ok()) {
      auto out = ed->write();
      if (out.ok() && !pe::parse(*out).ok()) __builtin_trap();
    }
  }
  return 0;
}
