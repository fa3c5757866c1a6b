#include "pe/testing.h"

#include "pe/pe.h"

namespace bootseal::pe::testing {

Bytes tiny_pe(const TinyPeOptions& o) {
  constexpr uint32_t kLfanew = 0x40;
  constexpr uint32_t kRaw = 0x200;
  constexpr uint16_t kOptSize = kOptPlusFixedSize + kMaxDataDirectories * 8;  // 240
  Bytes f(o.size_of_headers + kRaw * o.sections, 0);
  uint8_t* p = f.data();
  store_le<uint16_t>(p, kDosMagic);
  store_le<uint32_t>(p + kDosLfanewOffset, kLfanew);
  store_le<uint32_t>(p + kLfanew, kPeSignature);
  uint8_t* fh = p + kLfanew + 4;
  store_le<uint16_t>(fh + 0, 0x8664);  // IMAGE_FILE_MACHINE_AMD64
  store_le<uint16_t>(fh + 2, static_cast<uint16_t>(o.sections));
  store_le<uint16_t>(fh + 16, kOptSize);
  store_le<uint16_t>(fh + 18, 0x0206);  // EXECUTABLE_IMAGE | LINE_NUMS_STRIPPED | DEBUG_STRIPPED
  uint8_t* oh = fh + kFileHeaderSize;
  store_le<uint16_t>(oh + 0, kPe32PlusMagic);
  store_le<uint32_t>(oh + 4, kRaw);  // SizeOfCode
  store_le<uint32_t>(oh + 8, o.sections > 1 ? kRaw * (o.sections - 1) : 0);
  store_le<uint32_t>(oh + 16, o.section_alignment);  // AddressOfEntryPoint
  store_le<uint64_t>(oh + 24, 0x140000000);          // ImageBase
  store_le<uint32_t>(oh + 32, o.section_alignment);
  store_le<uint32_t>(oh + 36, o.file_alignment);
  store_le<uint32_t>(oh + 56, o.section_alignment * (o.sections + 1));  // SizeOfImage
  store_le<uint32_t>(oh + 60, o.size_of_headers);
  store_le<uint16_t>(oh + 68, 10);  // IMAGE_SUBSYSTEM_EFI_APPLICATION
  store_le<uint16_t>(oh + 70, kDllNxCompat);
  store_le<uint32_t>(oh + 108, kMaxDataDirectories);
  uint8_t* st = oh + kOptSize;
  for (int i = 0; i < o.sections; i++) {
    uint8_t* s = st + i * kSectionHeaderSize;
    const char* name = i == 0 ? ".text" : ".data";
    std::memcpy(s, name, std::strlen(name));
    store_le<uint32_t>(s + 8, 0x100);  // VirtualSize
    store_le<uint32_t>(s + 12, o.section_alignment * (i + 1));
    store_le<uint32_t>(s + 16, kRaw);
    store_le<uint32_t>(s + 20, o.size_of_headers + kRaw * i);
    store_le<uint32_t>(s + 36, i == 0 ? kScnCntCode | kScnMemExecute | kScnMemRead
                                      : kScnCntInitializedData | kScnMemRead | kScnMemWrite);
    for (uint32_t k = 0; k < 0x100; k++) f[o.size_of_headers + kRaw * i + k] = static_cast<uint8_t>(k * (i + 3));
  }
  return f;
}

}  // namespace bootseal::pe::testing
