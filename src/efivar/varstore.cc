#include "efivar/varstore.h"

#include <algorithm>

#include <fmt/format.h>

namespace bootseal::efivar {
namespace {
// gEfiAuthenticatedVariableGuid aaf32c78-947b-439a-a180-2e144ec37792, gEfiVariableGuid ddcf3616-3275-4164-98b6-fe85707ffe7d.
constexpr uint8_t kAuthStoreGuid[16] = {0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
                                        0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92};
constexpr uint8_t kPlainStoreGuid[16] = {0x16, 0x36, 0xcf, 0xdd, 0x75, 0x32, 0x64, 0x41,
                                         0x98, 0xb6, 0xfe, 0x85, 0x70, 0x7f, 0xfe, 0x7d};
}  // namespace

Result<std::vector<StoredVariable>> parse_varstore(ByteSpan fd) {
  if (fd.size() < 0x48) return input_error("OVMF varstore: {} bytes is too short for a firmware volume header", fd.size());
  if (std::string_view(reinterpret_cast<const char*>(fd.data()) + 0x28, 4) != "_FVH")
    return input_error("OVMF varstore: no firmware volume signature _FVH at 0x28 (not an OVMF_VARS.fd)");
  uint64_t fv_len = load_le<uint64_t>(fd.data() + 0x20);
  uint32_t hdr_len = load_le<uint16_t>(fd.data() + 0x30);
  if (fv_len > fd.size()) return input_error("OVMF varstore: volume length {} is past the file's end ({})", fv_len, fd.size());
  if (hdr_len < 0x48 || uint64_t{hdr_len} + 28 > fv_len) return input_error("OVMF varstore: bad volume header length {}", hdr_len);
  const uint8_t* st = fd.data() + hdr_len;
  bool auth = std::equal(st, st + 16, kAuthStoreGuid);
  if (!auth && !std::equal(st, st + 16, kPlainStoreGuid))
    return input_error("OVMF varstore: the variable store header has an unknown GUID");
  uint64_t store_size = load_le<uint32_t>(st + 16);
  if (store_size < 28 || hdr_len + store_size > fv_len)
    return input_error("OVMF varstore: variable store size {} does not fit the volume", store_size);
  if (st[20] != 0x5A) return input_error("OVMF varstore: variable store is not formatted (0x{:02x})", st[20]);
  const size_t vh = auth ? 60 : 32;
  std::vector<StoredVariable> out;
  uint64_t off = hdr_len + 28, end = hdr_len + store_size;
  while (off + vh <= end) {
    const uint8_t* h = fd.data() + off;
    if (load_le<uint16_t>(h) != 0x55AA) break;  // end of the used area
    uint8_t state = h[2];
    uint32_t attrs = load_le<uint32_t>(h + 4);
    uint32_t name_size = load_le<uint32_t>(h + (auth ? 36 : 8));
    uint32_t data_size = load_le<uint32_t>(h + (auth ? 40 : 12));
    const uint8_t* guid = h + (auth ? 44 : 16);
    uint64_t body = off + vh;
    if (uint64_t{name_size} > end - body || uint64_t{data_size} > end - body - name_size)
      return input_error("OVMF varstore: variable at 0x{:x}: name {} + data {} bytes run past the store", off, name_size, data_size);
    if (state == 0x3F || state == 0x3E) {
      StoredVariable v;
      for (uint32_t i = 0; i + 1 < name_size; i += 2) {
        uint16_t c = load_le<uint16_t>(fd.data() + body + i);
        if (c == 0) break;
        v.name += c < 0x80 ? static_cast<char>(c) : '?';
      }
      v.vendor = Guid::from_bytes(ByteSpan(guid, 16));
      v.attributes = attrs;
      v.data.assign(fd.data() + body + name_size, fd.data() + body + name_size + data_size);
      for (auto it = out.begin(); it != out.end(); ++it)
        if (it->name == v.name && it->vendor == v.vendor) {
          out.erase(it);
          break;
        }
      out.push_back(std::move(v));
    }
    off = (body + name_size + data_size + 3) & ~uint64_t{3};
  }
  return out;
}

}  // namespace bootseal::efivar
