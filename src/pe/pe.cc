#include "pe/pe.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace bootseal::pe {

std::string Section::name() const {
  size_t n = 0;
  while (n < raw_name.size() && raw_name[n] != 0) n++;
  return std::string(reinterpret_cast<const char*>(raw_name.data()), n);
}

DataDirectory Image::certificate_table() const {
  if (data_directories.size() > kDirSecurity) return data_directories[kDirSecurity];
  return {};
}

const Section* Image::find(std::string_view name) const {
  for (auto& s : sections)
    if (s.name() == name) return &s;
  return nullptr;
}

uint64_t Image::raw_data_end() const {
  uint64_t end = 0;
  for (auto& s : sections)
    if (s.SizeOfRawData) end = std::max<uint64_t>(end, uint64_t{s.PointerToRawData} + s.SizeOfRawData);
  return end;
}

bool looks_like_pe(ByteSpan file) {
  if (file.size() < kDosLfanewOffset + 4) return false;
  if (load_le<uint16_t>(file.data()) != kDosMagic) return false;
  uint32_t lfanew = load_le<uint32_t>(file.data() + kDosLfanewOffset);
  if (!in_bounds(lfanew, 4, file.size())) return false;
  return load_le<uint32_t>(file.data() + lfanew) == kPeSignature;
}

namespace {

Result<Section> read_section(ByteReader& r) {
  Section s;
  ByteSpan name = BS_TRY(r.bytes(kSectionNameSize, "section name"));
  std::copy(name.begin(), name.end(), s.raw_name.begin());
  s.VirtualSize = BS_TRY(r.u32("VirtualSize"));
  s.VirtualAddress = BS_TRY(r.u32("VirtualAddress"));
  s.SizeOfRawData = BS_TRY(r.u32("SizeOfRawData"));
  s.PointerToRawData = BS_TRY(r.u32("PointerToRawData"));
  s.PointerToRelocations = BS_TRY(r.u32("PointerToRelocations"));
  s.PointerToLinenumbers = BS_TRY(r.u32("PointerToLinenumbers"));
  s.NumberOfRelocations = BS_TRY(r.u16("NumberOfRelocations"));
  s.NumberOfLinenumbers = BS_TRY(r.u16("NumberOfLinenumbers"));
  s.Characteristics = BS_TRY(r.u32("Characteristics"));
  return s;
}

Status check_layout(const Image& img) {
  // Raw data: inside the file, after the headers, not overlapping each other.
  struct Span {
    uint64_t begin, end;
    size_t index;
  };
  std::vector<Span> raw, virt;
  for (size_t i = 0; i < img.sections.size(); i++) {
    const Section& s = img.sections[i];
    if (s.SizeOfRawData) {
      if (!in_bounds(s.PointerToRawData, s.SizeOfRawData, img.file_size))
        return input_error("section {} ({}): raw data at offset {} with size {} is outside the file ({} bytes)", i,
                           s.name(), s.PointerToRawData, s.SizeOfRawData, img.file_size);
      if (s.PointerToRawData < img.SizeOfHeaders)
        return input_error("section {} ({}): raw data at offset {} overlaps the headers (SizeOfHeaders {})", i,
                           s.name(), s.PointerToRawData, img.SizeOfHeaders);
      raw.push_back({s.PointerToRawData, uint64_t{s.PointerToRawData} + s.SizeOfRawData, i});
    }
    uint64_t vend = uint64_t{s.VirtualAddress} + s.mapped_size();
    if (s.mapped_size()) {
      if (s.VirtualAddress < img.SizeOfHeaders)
        return input_error("section {} ({}): VirtualAddress {:#x} overlaps the headers", i, s.name(),
                           s.VirtualAddress);
      if (vend > img.SizeOfImage)
        return input_error("section {} ({}): ends at RVA {:#x}, past SizeOfImage {:#x}", i, s.name(), vend,
                           img.SizeOfImage);
      virt.push_back({s.VirtualAddress, vend, i});
    }
  }
  auto check_overlap = [&](std::vector<Span>& v, const char* what) -> Status {
    std::sort(v.begin(), v.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (size_t k = 1; k < v.size(); k++)
      if (v[k].begin < v[k - 1].end)
        return input_error("sections {} ({}) and {} ({}) overlap in the {}", v[k - 1].index,
                           img.sections[v[k - 1].index].name(), v[k].index, img.sections[v[k].index].name(),
                           what);
    return {};
  };
  BS_TRY(check_overlap(raw, "file"));
  BS_TRY(check_overlap(virt, "address space"));
  return {};
}

}  // namespace

Result<Image> parse(ByteSpan file) { return parse_headers(file, file.size()); }

Result<Image> parse_headers(ByteSpan file, uint64_t file_size) {
  // Reads stay inside `file` (the header bytes at hand); bounds of section
  // data and the certificate table are checked against `file_size`.
  if (file.size() > file_size) return internal_error("{} header bytes for a file of {} bytes", file.size(), file_size);
  Image img;
  img.file_size = file_size;
  ByteReader r(file);
  if (file.size() < 2 || load_le<uint16_t>(file.data()) != kDosMagic)
    return input_error("not a PE image: no MZ signature");
  if (file.size() < kDosLfanewOffset + 4) return input_error("not a PE image: truncated DOS header");
  img.e_lfanew = load_le<uint32_t>(file.data() + kDosLfanewOffset);
  if (!in_bounds(img.e_lfanew, 4 + kFileHeaderSize, file.size()))
    return input_error("not a PE image: e_lfanew {:#x} points outside the file ({} bytes)", img.e_lfanew,
                       file.size());
  if (load_le<uint32_t>(file.data() + img.e_lfanew) != kPeSignature)
    return input_error("not a PE image: no PE signature at offset {:#x}", img.e_lfanew);

  img.file_header_offset = img.e_lfanew + 4;
  BS_TRY(r.seek(img.file_header_offset));
  img.Machine = BS_TRY(r.u16("Machine"));
  img.NumberOfSections = BS_TRY(r.u16("NumberOfSections"));
  img.TimeDateStamp = BS_TRY(r.u32("TimeDateStamp"));
  img.PointerToSymbolTable = BS_TRY(r.u32("PointerToSymbolTable"));
  img.NumberOfSymbols = BS_TRY(r.u32("NumberOfSymbols"));
  img.SizeOfOptionalHeader = BS_TRY(r.u16("SizeOfOptionalHeader"));
  img.Characteristics = BS_TRY(r.u16("Characteristics"));

  img.optional_header_offset = r.pos();
  if (img.SizeOfOptionalHeader < 2) return input_error("truncated headers: no optional header");
  if (!in_bounds(img.optional_header_offset, img.SizeOfOptionalHeader, file.size()))
    return input_error("truncated headers: optional header ({} bytes at {:#x}) extends past the end of the file",
                       img.SizeOfOptionalHeader, img.optional_header_offset);
  img.Magic = load_le<uint16_t>(file.data() + img.optional_header_offset);
  if (img.Magic == kPe32Magic) return unsupported_error("PE32 (32-bit) images are not supported, only PE32+");
  if (img.Magic != kPe32PlusMagic) return input_error("not a PE32+ image: optional header magic {:#x}", img.Magic);
  if (img.SizeOfOptionalHeader < kOptPlusFixedSize)
    return input_error("truncated headers: SizeOfOptionalHeader {} is smaller than the PE32+ fixed part ({})",
                       img.SizeOfOptionalHeader, kOptPlusFixedSize);

  const uint8_t* o = file.data() + img.optional_header_offset;
  img.SizeOfCode = load_le<uint32_t>(o + 4);
  img.SizeOfInitializedData = load_le<uint32_t>(o + 8);
  img.AddressOfEntryPoint = load_le<uint32_t>(o + 16);
  img.ImageBase = load_le<uint64_t>(o + 24);
  img.SectionAlignment = load_le<uint32_t>(o + 32);
  img.FileAlignment = load_le<uint32_t>(o + 36);
  img.MajorImageVersion = load_le<uint16_t>(o + 44);
  img.MinorImageVersion = load_le<uint16_t>(o + 46);
  img.SizeOfImage = load_le<uint32_t>(o + 56);
  img.SizeOfHeaders = load_le<uint32_t>(o + 60);
  img.CheckSum = load_le<uint32_t>(o + kOptCheckSumOffset);
  img.Subsystem = load_le<uint16_t>(o + 68);
  img.DllCharacteristics = load_le<uint16_t>(o + 70);
  img.NumberOfRvaAndSizes = load_le<uint32_t>(o + 108);
  img.checksum_offset = img.optional_header_offset + kOptCheckSumOffset;
  img.data_directory_offset = img.optional_header_offset + kOptPlusDataDirectoryOffset;

  if (!is_power_of_two(img.FileAlignment) || !is_power_of_two(img.SectionAlignment))
    return input_error("bad alignment: FileAlignment {:#x}, SectionAlignment {:#x} (must be powers of two)",
                       img.FileAlignment, img.SectionAlignment);
  if (img.SectionAlignment < img.FileAlignment)
    return input_error("bad alignment: SectionAlignment {:#x} is smaller than FileAlignment {:#x}",
                       img.SectionAlignment, img.FileAlignment);

  uint32_t ndirs = std::min(img.NumberOfRvaAndSizes, kMaxDataDirectories);
  if (kOptPlusFixedSize + size_t{ndirs} * 8 > img.SizeOfOptionalHeader)
    return input_error("truncated headers: {} data directories do not fit in SizeOfOptionalHeader {}", ndirs,
                       img.SizeOfOptionalHeader);
  for (uint32_t i = 0; i < ndirs; i++) {
    const uint8_t* d = file.data() + img.data_directory_offset + 8 * i;
    img.data_directories.push_back({load_le<uint32_t>(d), load_le<uint32_t>(d + 4)});
  }
  if (ndirs > kDirSecurity) img.security_dir_offset = img.data_directory_offset + 8 * kDirSecurity;

  img.section_table_offset = img.optional_header_offset + img.SizeOfOptionalHeader;
  if (img.NumberOfSections > kMaxSections)
    return input_error("too many sections: {} (at most {})", img.NumberOfSections, kMaxSections);
  uint64_t table_end = img.section_table_offset + uint64_t{img.NumberOfSections} * kSectionHeaderSize;
  if (table_end > file.size())
    return input_error("truncated headers: the section table ({} sections at {:#x}) extends past the end of the file",
                       img.NumberOfSections, img.section_table_offset);
  if (img.SizeOfHeaders > file_size)
    return input_error("truncated headers: SizeOfHeaders {:#x} is larger than the file ({} bytes)",
                       img.SizeOfHeaders, file_size);
  if (img.SizeOfHeaders > file.size())
    return input_error("truncated headers: SizeOfHeaders {:#x} is larger than the {} header bytes given",
                       img.SizeOfHeaders, file.size());
  if (table_end > img.SizeOfHeaders)
    return input_error("the section table ends at {:#x}, past SizeOfHeaders {:#x}", table_end, img.SizeOfHeaders);
  BS_TRY(r.seek(img.section_table_offset));
  for (uint16_t i = 0; i < img.NumberOfSections; i++) img.sections.push_back(BS_TRY(read_section(r)));

  BS_TRY(check_layout(img));

  DataDirectory cert = img.certificate_table();
  if (cert.Size != 0 || cert.VirtualAddress != 0) {
    if (!in_bounds(cert.VirtualAddress, cert.Size, file_size))
      return input_error("certificate table at offset {:#x} with size {} is outside the file ({} bytes)",
                         cert.VirtualAddress, cert.Size, file_size);
    if (cert.Size != 0 && cert.VirtualAddress < img.SizeOfHeaders)
      return input_error("certificate table at offset {:#x} overlaps the headers (SizeOfHeaders {:#x})",
                         cert.VirtualAddress, img.SizeOfHeaders);
    if (cert.Size != 0 && cert.VirtualAddress < img.raw_data_end())
      return input_error("certificate table at offset {:#x} overlaps section data (which ends at {:#x})",
                         cert.VirtualAddress, img.raw_data_end());
  }
  return img;
}

ByteSpan section_data(ByteSpan file, const Section& s) {
  uint64_t n = s.VirtualSize ? std::min(s.VirtualSize, s.SizeOfRawData) : s.SizeOfRawData;
  if (!in_bounds(s.PointerToRawData, n, file.size())) return {};
  return file.subspan(s.PointerToRawData, n);
}

Bytes section_contents(ByteSpan file, const Section& s) {
  ByteSpan raw = section_data(file, s);
  Bytes out(raw.begin(), raw.end());
  out.resize(s.mapped_size(), 0);
  return out;
}

namespace {

// Words summed per block of checksum_word_sum()'s fast loop: each step adds at
// most 2 * 0xffff to each 32-bit lane, so 2^14 steps stay below 2^32.
constexpr size_t kWordSumBlock = size_t{1} << 14;

// A little-endian u64 in one load (base's load_le assembles bytes in a loop,
// which GCC does not merge at -O2; this runs over whole UKIs).
inline uint64_t load_u64_le(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

}  // namespace

uint64_t checksum_word_sum(ByteSpan d, uint64_t offset) {
  // The PE checksum adds little-endian 16-bit words; a 64-bit load holds four,
  // added pairwise into two 32-bit lanes (no carries cross lanes within a
  // block). The total is the same integer as word-by-word addition, 8x fewer
  // steps; 64 bits cannot overflow (2^31 words of at most 0xffff).
  const uint8_t* p = d.data();
  size_t n = d.size(), i = 0;
  uint64_t sum = 0;
  if (offset % 2 == 1 && n > 0) {
    sum += uint64_t{p[0]} << 8;
    i = 1;
  }
  constexpr uint64_t kLanes = 0x0000ffff0000ffffULL;
  // Four u64 at a time as a GCC/Clang vector (two SSE2 adds on x86-64): the
  // same per-lane arithmetic, 32 bytes per step.
  using U64x4 = uint64_t __attribute__((vector_size(32)));
  while (n - i >= 32) {
    size_t steps = std::min((n - i) / 32, kWordSumBlock);
    U64x4 acc = {0, 0, 0, 0};
    for (size_t k = 0; k < steps; k++, i += 32) {
      U64x4 x;
      std::memcpy(&x, p + i, sizeof x);
      if constexpr (std::endian::native == std::endian::big)
        for (int e = 0; e < 4; e++) x[e] = __builtin_bswap64(x[e]);
      acc += (x & kLanes) + ((x >> 16) & kLanes);
    }
    for (int e = 0; e < 4; e++) sum += (acc[e] & 0xffffffff) + (acc[e] >> 32);
  }
  while (n - i >= 8) {
    size_t steps = std::min((n - i) / 8, kWordSumBlock);
    uint64_t acc = 0;
    for (size_t k = 0; k < steps; k++, i += 8) {
      uint64_t x = load_u64_le(p + i);
      acc += (x & kLanes) + ((x >> 16) & kLanes);
    }
    sum += (acc & 0xffffffff) + (acc >> 32);
  }
  for (; i + 1 < n; i += 2) sum += load_le<uint16_t>(p + i);
  if (i < n) sum += p[i];
  return sum;
}

uint32_t fold_checksum(uint64_t sum, uint64_t file_size) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint32_t>(sum + file_size);
}

uint32_t compute_checksum(ByteSpan file, size_t checksum_offset) {
  // Sum of little-endian 16-bit words (a last odd byte counts as a word padded
  // with zero), bytes of the CheckSum field taken as zero.
  size_t n = file.size();
  if (checksum_offset >= n) return fold_checksum(checksum_word_sum(file, 0), n);
  size_t field_end = std::min(checksum_offset + 4, n);
  uint64_t sum = checksum_word_sum(file.first(checksum_offset), 0) +
                 checksum_word_sum(file.subspan(field_end), field_end);
  return fold_checksum(sum, n);
}

Result<AuthenticodeRanges> authenticode_ranges(const Image& img) {
  if (!img.security_dir_offset)
    return input_error("the image has no security data directory (NumberOfRvaAndSizes {})", img.NumberOfRvaAndSizes);
  AuthenticodeRanges a;
  a.checksum_offset = img.checksum_offset;
  a.security_dir_offset = *img.security_dir_offset;
  DataDirectory cert = img.certificate_table();
  a.cert_table_offset = cert.Size ? cert.VirtualAddress : 0;
  a.cert_table_size = cert.Size;

  // Headers, skipping CheckSum and the security directory entry.
  a.ranges.push_back({0, a.checksum_offset});
  a.ranges.push_back({a.checksum_offset + 4, a.security_dir_offset - (a.checksum_offset + 4)});
  a.ranges.push_back({a.security_dir_offset + 8, img.SizeOfHeaders - (a.security_dir_offset + 8)});

  std::vector<const Section*> secs;
  for (auto& s : img.sections)
    if (s.SizeOfRawData) secs.push_back(&s);
  std::stable_sort(secs.begin(), secs.end(),
                   [](const Section* x, const Section* y) { return x->PointerToRawData < y->PointerToRawData; });
  uint64_t hashed = img.SizeOfHeaders;
  for (auto* s : secs) {
    a.ranges.push_back({s->PointerToRawData, s->SizeOfRawData});
    hashed += s->SizeOfRawData;
  }
  // Trailing data: from SUM_OF_BYTES_HASHED to the certificate table (or EOF).
  uint64_t end = cert.Size ? cert.VirtualAddress : img.file_size;
  if (cert.Size && uint64_t{cert.VirtualAddress} + cert.Size < img.file_size)
    end = img.file_size - cert.Size;  // table not at the end: the spec hashes size minus the table
  if (end > hashed) a.ranges.push_back({hashed, end - hashed});
  a.signed_data_end = std::max(hashed, end);
  // Drop empty ranges (a security directory right after CheckSum, etc.).
  std::erase_if(a.ranges, [](const Range& r) { return r.size == 0; });
  if (a.security_dir_offset + 8 > img.SizeOfHeaders || a.checksum_offset + 4 > a.security_dir_offset)
    return input_error("malformed headers: CheckSum/security directory outside SizeOfHeaders");
  return a;
}

}  // namespace bootseal::pe
