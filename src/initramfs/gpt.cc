#include "initramfs/gpt.h"

#include <fmt/format.h>

namespace bootseal::initramfs {

uint32_t crc32(ByteSpan data) {
  uint32_t c = 0xffffffffu;
  for (uint8_t b : data) {
    c ^= b;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

std::string guid_to_string(ByteSpan g) {
  return fmt::format("{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", load_le<uint32_t>(g.data()),
                     load_le<uint16_t>(g.data() + 4), load_le<uint16_t>(g.data() + 6), g[8], g[9], g[10], g[11], g[12],
                     g[13], g[14], g[15]);
}

Result<GptHeader> parse_gpt_header(ByteSpan s) {
  if (s.size() < 92) return input_error("GPT header: {} bytes, need 92", s.size());
  if (as_string(s.subspan(0, 8)) != kGptSignature) return input_error("no GPT signature at LBA 1");
  uint32_t hsize = load_le<uint32_t>(s.data() + 12);
  if (hsize < 92 || hsize > s.size()) return input_error("GPT header size {} out of range", hsize);
  Bytes h(s.begin(), s.begin() + hsize);
  uint32_t want = load_le<uint32_t>(h.data() + 16);
  store_le<uint32_t>(h.data() + 16, 0);
  if (crc32(h) != want) return input_error("GPT header CRC32 mismatch");
  GptHeader g;
  g.entries_lba = load_le<uint64_t>(s.data() + 72);
  g.num_entries = load_le<uint32_t>(s.data() + 80);
  g.entry_size = load_le<uint32_t>(s.data() + 84);
  if (g.entry_size < 128 || g.entry_size > 4096 || g.entry_size % 8 != 0)
    return input_error("GPT entry size {} out of range", g.entry_size);
  if (g.num_entries > kGptMaxEntries) return input_error("GPT has {} entries (max {})", g.num_entries, kGptMaxEntries);
  if (g.entries_lba < 2) return input_error("GPT entry array at LBA {}", g.entries_lba);
  return g;
}

Result<std::vector<GptPartition>> parse_gpt_entries(ByteSpan e, const GptHeader& h) {
  uint64_t need = uint64_t{h.num_entries} * h.entry_size;
  if (e.size() < need) return input_error("GPT entry array truncated: {} of {} bytes", e.size(), need);
  std::vector<GptPartition> out;
  static const uint8_t kZero[16] = {};
  for (uint32_t i = 0; i < h.num_entries; i++) {
    const uint8_t* p = e.data() + uint64_t{i} * h.entry_size;
    if (std::equal(p, p + 16, kZero)) continue;
    GptPartition g;
    g.number = i + 1;
    g.type_guid = guid_to_string(ByteSpan(p, 16));
    g.unique_guid = guid_to_string(ByteSpan(p + 16, 16));
    g.first_lba = load_le<uint64_t>(p + 32);
    g.last_lba = load_le<uint64_t>(p + 40);
    for (int k = 0; k < 36; k++) {
      uint16_t u = load_le<uint16_t>(p + 56 + 2 * k);
      if (u == 0) break;
      g.name += u < 0x80 ? static_cast<char>(u) : '?';
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace bootseal::initramfs
