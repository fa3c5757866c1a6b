#include "pe/writer.h"

#include <algorithm>
#include <numeric>

namespace bootseal::pe {

namespace {

// Size of a COFF symbol table record (IMAGE_SYMBOL).
constexpr uint64_t kCoffSymbolSize = 18;
// Offsets inside IMAGE_FILE_HEADER (from its start).
constexpr size_t kFhNumberOfSections = 2;
constexpr size_t kFhPointerToSymbolTable = 8;
constexpr size_t kFhNumberOfSymbols = 12;
constexpr size_t kFhCharacteristics = 18;
// Offsets inside IMAGE_OPTIONAL_HEADER64.
constexpr size_t kOptSizeOfInitializedData = 8;
constexpr size_t kOptSizeOfImage = 56;
constexpr size_t kOptSizeOfHeaders = 60;
constexpr size_t kOptDllCharacteristics = 70;

void put_section_header(uint8_t* p, const Section& s) {
  std::copy(s.raw_name.begin(), s.raw_name.end(), p);
  store_le<uint32_t>(p + 8, s.VirtualSize);
  store_le<uint32_t>(p + 12, s.VirtualAddress);
  store_le<uint32_t>(p + 16, s.SizeOfRawData);
  store_le<uint32_t>(p + 20, s.PointerToRawData);
  store_le<uint32_t>(p + 24, s.PointerToRelocations);
  store_le<uint32_t>(p + 28, s.PointerToLinenumbers);
  store_le<uint16_t>(p + 32, s.NumberOfRelocations);
  store_le<uint16_t>(p + 34, s.NumberOfLinenumbers);
  store_le<uint32_t>(p + 36, s.Characteristics);
}

Result<std::array<uint8_t, kSectionNameSize>> encode_name(std::string_view name) {
  if (name.empty() || name.size() > kSectionNameSize)
    return input_error("section name '{}' must be 1 to {} bytes", name, kSectionNameSize);
  std::array<uint8_t, kSectionNameSize> raw{};
  std::copy(name.begin(), name.end(), raw.begin());
  return raw;
}

}  // namespace

Editor::Editor(ByteSpan file, Image image)
    : file_(file),
      image_(std::move(image)),
      size_of_initialized_data_(image_.SizeOfInitializedData),
      dll_characteristics_(image_.DllCharacteristics) {
  for (auto& s : image_.sections) {
    Entry e;
    e.header = s;
    e.original_pointer = s.PointerToRawData;
    if (s.SizeOfRawData) e.parts = {{0, file_.subspan(s.PointerToRawData, s.SizeOfRawData)}};
    entries_.push_back(std::move(e));
  }
}

Result<Editor> Editor::open(ByteSpan file) {
  Image img = BS_TRY(parse(file));
  return Editor(file, std::move(img));
}

std::vector<std::string> Editor::section_names() const {
  std::vector<std::string> v;
  for (auto& e : entries_) v.push_back(e.header.name());
  return v;
}

bool Editor::has_section(std::string_view name) const {
  for (auto& e : entries_)
    if (e.header.name() == name) return true;
  return false;
}

uint64_t Editor::next_virtual_address() const {
  uint64_t end = image_.SizeOfHeaders;
  for (auto& e : entries_) end = std::max<uint64_t>(end, uint64_t{e.header.VirtualAddress} + e.header.mapped_size());
  return round_up(end, image_.SectionAlignment);
}

Status Editor::add_entry(std::string_view name, std::vector<Layout::Piece> parts, uint64_t size,
                         std::shared_ptr<const Bytes> owned, uint32_t characteristics) {
  auto raw = BS_TRY(encode_name(name));
  if (size == 0) return input_error("section {}: empty contents", name);
  if (entries_.size() >= kMaxSections) return input_error("too many sections (at most {})", kMaxSections);
  uint64_t va = next_virtual_address();
  uint64_t raw_size = round_up(size, image_.FileAlignment);
  if (va + round_up(size, image_.SectionAlignment) > UINT32_MAX || raw_size > UINT32_MAX)
    return input_error("section {} ({} bytes) does not fit in a PE32+ image's 4 GiB address space", name, size);
  Entry e;
  e.header.raw_name = raw;
  e.header.VirtualSize = static_cast<uint32_t>(size);
  e.header.VirtualAddress = static_cast<uint32_t>(va);
  e.header.SizeOfRawData = static_cast<uint32_t>(raw_size);
  e.header.Characteristics = characteristics;
  e.parts = std::move(parts);
  e.owned = std::move(owned);
  e.is_new = true;
  entries_.push_back(std::move(e));
  size_of_initialized_data_ += static_cast<uint32_t>(size);
  return {};
}

Status Editor::add_section(std::string_view name, ByteSpan data, uint32_t characteristics) {
  return add_entry(name, {{0, data}}, data.size(), nullptr, characteristics);
}

Status Editor::add_section(std::string_view name, Bytes data, uint32_t characteristics) {
  auto owned = std::make_shared<const Bytes>(std::move(data));
  ByteSpan view(*owned);
  return add_entry(name, {{0, view}}, view.size(), std::move(owned), characteristics);
}

Status Editor::add_section_parts(std::string_view name, const std::vector<ByteSpan>& parts, uint64_t part_alignment,
                                 uint32_t characteristics) {
  if (part_alignment == 0 || (part_alignment & (part_alignment - 1)))
    return input_error("section {}: part alignment {} is not a power of two", name, part_alignment);
  std::vector<Layout::Piece> pieces;
  uint64_t size = 0;
  for (ByteSpan d : parts) {
    if (!d.empty()) pieces.push_back({size, d});
    size = round_up(size + d.size(), part_alignment);
    if (size > UINT32_MAX) return input_error("section {} does not fit in a PE32+ image's 4 GiB address space", name);
  }
  return add_entry(name, std::move(pieces), size, nullptr, characteristics);
}

Status Editor::replace_entry(std::string_view name, ByteSpan data, std::shared_ptr<const Bytes> owned,
                             bool allow_move) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.header.name() == name; });
  if (it == entries_.end()) return input_error("no section {}", name);
  if (data.empty()) return input_error("section {}: empty contents", name);
  Entry& e = *it;
  // File position key: original sections by offset, then new ones in order.
  auto key = [&](const Entry& x) {
    return std::pair<int, uint64_t>(x.is_new ? 1 : 0,
                                    x.is_new ? static_cast<uint64_t>(&x - entries_.data()) : x.original_pointer);
  };
  bool last_in_file = true, last_in_memory = true;
  for (auto& o : entries_) {
    if (&o == &e) continue;
    if (o.header.VirtualAddress > e.header.VirtualAddress) last_in_memory = false;
    if (o.header.SizeOfRawData && key(o) > key(e)) last_in_file = false;
  }
  if (data.size() <= e.header.SizeOfRawData || (last_in_file && last_in_memory)) {
    uint64_t raw_size = std::max<uint64_t>(e.header.SizeOfRawData, round_up(data.size(), image_.FileAlignment));
    if (uint64_t{e.header.VirtualAddress} + data.size() > UINT32_MAX || raw_size > UINT32_MAX)
      return input_error("section {} ({} bytes) does not fit in a PE32+ image", name, data.size());
    e.header.VirtualSize = static_cast<uint32_t>(data.size());
    e.header.SizeOfRawData = static_cast<uint32_t>(raw_size);
    e.parts = {{0, data}};
    e.owned = std::move(owned);
    return {};
  }
  if (!allow_move)
    return input_error(
        "section {}: the new contents ({} bytes) do not fit in its {} bytes, and moving it would change the "
        "addresses of the sections after it",
        name, data.size(), e.header.SizeOfRawData);
  uint32_t characteristics = e.header.Characteristics;
  BS_TRY(remove_section(name));
  return add_entry(name, {{0, data}}, data.size(), std::move(owned), characteristics);
}

Status Editor::replace_section(std::string_view name, ByteSpan data, bool allow_move) {
  return replace_entry(name, data, nullptr, allow_move);
}

Status Editor::replace_section(std::string_view name, Bytes data, bool allow_move) {
  auto owned = std::make_shared<const Bytes>(std::move(data));
  ByteSpan view(*owned);
  return replace_entry(name, view, std::move(owned), allow_move);
}

Status Editor::remove_section(std::string_view name) {
  auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.header.name() == name; });
  if (it == entries_.end()) return input_error("no section {}", name);
  if (it->header.Characteristics & kScnCntInitializedData)
    size_of_initialized_data_ -= std::min(size_of_initialized_data_, it->header.VirtualSize);
  entries_.erase(it);
  return {};
}

Result<Layout> Editor::layout(const WriteOptions& options) const {
  const Image& img = image_;
  const uint64_t fa = img.FileAlignment;

  // Headers: room for the section table, rounded up to FileAlignment.
  uint64_t table_end = img.section_table_offset + entries_.size() * kSectionHeaderSize;
  uint64_t first_va = UINT64_MAX;
  for (auto& e : entries_)
    if (e.header.mapped_size()) first_va = std::min<uint64_t>(first_va, e.header.VirtualAddress);
  // ukify rounds SizeOfHeaders up to FileAlignment; only do that where the
  // headers stay below the first section's RVA.
  uint64_t headers = round_up(img.SizeOfHeaders, fa);
  if (headers > first_va) headers = img.SizeOfHeaders;
  if (table_end > headers) {
    headers = round_up(table_end, fa);
    if (headers > first_va)
      return input_error(
          "no room for another section header: {} section headers need {:#x} bytes of headers, but the first "
          "section starts at RVA {:#x}",
          entries_.size(), headers, first_va);
    if (img.data_directories.size() > kDirDebug && img.data_directories[kDirDebug].Size != 0)
      return unsupported_error(
          "no room for another section header, and growing the headers would move raw data that the debug "
          "directory points at");
  }

  // Trailing data after the sections: drop the certificate table and a COFF
  // symbol table that ends the file (as ukify does); keep anything else.
  uint64_t trail_begin = std::max<uint64_t>(img.raw_data_end(), img.SizeOfHeaders);
  uint64_t trail_end = img.file_size;
  DataDirectory cert = img.certificate_table();
  if (cert.Size && uint64_t{cert.VirtualAddress} + cert.Size == trail_end) trail_end = cert.VirtualAddress;
  bool strip_symbols = false;
  if (img.PointerToSymbolTable) {
    uint64_t sym = img.PointerToSymbolTable;
    uint64_t sym_end = sym + kCoffSymbolSize * img.NumberOfSymbols;
    if (sym_end + 4 <= img.file_size) sym_end += load_le<uint32_t>(file_.data() + sym_end);  // string table
    if (sym >= trail_begin && sym_end == trail_end) {
      strip_symbols = true;
      trail_end = sym;
    }
  }
  if (trail_end < trail_begin) trail_end = trail_begin;
  ByteSpan trailing = file_.subspan(trail_begin, trail_end - trail_begin);
  if (std::all_of(trailing.begin(), trailing.end(), [](uint8_t b) { return b == 0; })) trailing = {};

  // File layout: original sections in their file order, then new ones.
  std::vector<size_t> order(entries_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Entry &x = entries_[a], &y = entries_[b];
    if (x.is_new != y.is_new) return !x.is_new;
    if (x.is_new) return false;
    return x.original_pointer < y.original_pointer;
  });
  std::vector<Section> out_headers(entries_.size());
  uint64_t cursor = headers;
  for (size_t i : order) {
    const Entry& e = entries_[i];
    Section s = e.header;
    if (s.SizeOfRawData) {
      uint64_t want = e.is_new ? cursor : std::max<uint64_t>(cursor, e.original_pointer);
      uint64_t ptr = round_up(want, fa);
      uint64_t size = round_up(s.SizeOfRawData, fa);
      if (ptr + size > UINT32_MAX) return input_error("the image would be larger than 4 GiB");
      // A section without VirtualSize is mapped as SizeOfRawData bytes: keep
      // that extent when the padding grows, so it overlaps no later section.
      if (s.VirtualSize == 0) s.VirtualSize = s.SizeOfRawData;
      s.PointerToRawData = static_cast<uint32_t>(ptr);
      s.SizeOfRawData = static_cast<uint32_t>(size);
      cursor = ptr + size;
    }
    out_headers[i] = s;
  }
  uint64_t trailing_offset = cursor;
  uint64_t total = cursor + trailing.size();

  Layout out;
  out.size = total;
  out.headers.assign(headers, 0);
  // Headers: the original bytes, then the new section table.
  size_t keep = std::min<uint64_t>(img.SizeOfHeaders, headers);
  std::copy_n(file_.begin(), keep, out.headers.begin());
  uint64_t old_table_end = img.section_table_offset + uint64_t{img.NumberOfSections} * kSectionHeaderSize;
  std::fill(out.headers.begin() + img.section_table_offset,
            out.headers.begin() + std::min<uint64_t>(old_table_end, headers), 0);
  for (size_t i = 0; i < out_headers.size(); i++)
    put_section_header(out.headers.data() + img.section_table_offset + i * kSectionHeaderSize, out_headers[i]);
  // Raw data, as views; the gaps between pieces are zeros.
  for (size_t i = 0; i < entries_.size(); i++) {
    const Section& s = out_headers[i];
    if (!s.SizeOfRawData) continue;
    for (const Layout::Piece& part : entries_[i].parts) {
      if (part.offset >= s.SizeOfRawData) continue;
      ByteSpan d = part.data.first(std::min<uint64_t>(part.data.size(), s.SizeOfRawData - part.offset));
      if (!d.empty()) out.pieces.push_back({s.PointerToRawData + part.offset, d});
    }
    if (entries_[i].owned) out.owned.push_back(entries_[i].owned);  // the layout outlives the editor
  }
  if (!trailing.empty()) out.pieces.push_back({trailing_offset, trailing});
  std::sort(out.pieces.begin(), out.pieces.end(),
            [](const Layout::Piece& a, const Layout::Piece& b) { return a.offset < b.offset; });

  // Header fields.
  uint8_t* fh = out.headers.data() + img.file_header_offset;
  uint8_t* oh = out.headers.data() + img.optional_header_offset;
  store_le<uint16_t>(fh + kFhNumberOfSections, static_cast<uint16_t>(entries_.size()));
  if (strip_symbols) {
    store_le<uint32_t>(fh + kFhPointerToSymbolTable, 0);
    store_le<uint32_t>(fh + kFhNumberOfSymbols, 0);
    store_le<uint16_t>(fh + kFhCharacteristics, img.Characteristics | kFileLocalSymsStripped);
  } else if (img.PointerToSymbolTable >= trail_begin && img.PointerToSymbolTable < trail_end) {
    store_le<uint32_t>(fh + kFhPointerToSymbolTable,
                       static_cast<uint32_t>(img.PointerToSymbolTable - trail_begin + trailing_offset));
  }
  uint64_t image_end = headers;
  for (auto& s : out_headers) image_end = std::max<uint64_t>(image_end, uint64_t{s.VirtualAddress} + s.mapped_size());
  uint64_t size_of_image = round_up(image_end, img.SectionAlignment);
  if (size_of_image > UINT32_MAX) return input_error("the image would span more than 4 GiB of address space");
  store_le<uint32_t>(oh + kOptSizeOfImage, static_cast<uint32_t>(size_of_image));
  store_le<uint32_t>(oh + kOptSizeOfHeaders, static_cast<uint32_t>(headers));
  store_le<uint32_t>(oh + kOptSizeOfInitializedData, size_of_initialized_data_);
  store_le<uint16_t>(oh + kOptDllCharacteristics, dll_characteristics_);
  if (img.security_dir_offset) {
    store_le<uint32_t>(out.headers.data() + *img.security_dir_offset, 0);
    store_le<uint32_t>(out.headers.data() + *img.security_dir_offset + 4, 0);
  }
  store_le<uint32_t>(out.headers.data() + img.checksum_offset, 0);
  out.checksum_offset = img.checksum_offset;
  if (options.update_checksum) out.set_checksum(out.word_sum(out.headers.size(), out.size - out.headers.size()));
  return out;
}

ByteSpan zero_block() {
  static const Bytes zeros(64 * 1024, 0);
  return zeros;
}

Layout Layout::of_file(ByteSpan file, size_t header_size) {
  Layout l;
  header_size = std::min(header_size, file.size());
  l.headers.assign(file.begin(), file.begin() + static_cast<ptrdiff_t>(header_size));
  if (file.size() > header_size) l.pieces.push_back({header_size, file.subspan(header_size)});
  l.size = file.size();
  return l;
}

Bytes Layout::materialize(size_t reserve_extra) const {
  // One pass, no zero-fill of the whole buffer, and room for what a signer
  // appends (a certificate table) without reallocating.
  Bytes b;
  b.reserve(size + reserve_extra);
  b.insert(b.end(), headers.begin(), headers.end());
  for (auto& p : pieces) {
    b.resize(p.offset, 0);
    b.insert(b.end(), p.data.begin(), p.data.end());
  }
  b.resize(size, 0);
  return b;
}

Bytes Layout::read(uint64_t offset, uint64_t len) const {
  Bytes out;
  out.reserve(len);
  visit(offset, len, [&](ByteSpan d) { out.insert(out.end(), d.begin(), d.end()); });
  return out;
}

void Layout::truncate(uint64_t new_size) {
  if (new_size >= size) return;
  if (new_size < headers.size()) headers.resize(new_size);
  std::erase_if(pieces, [&](const Piece& p) { return p.offset >= new_size; });
  for (Piece& p : pieces)
    if (p.offset + p.data.size() > new_size) p.data = p.data.first(new_size - p.offset);
  size = new_size;
}

void Layout::append(uint64_t offset, Bytes data) {
  auto b = std::make_shared<const Bytes>(std::move(data));
  if (!b->empty()) pieces.push_back({offset, ByteSpan(*b)});
  size = std::max(size, offset + b->size());
  owned.push_back(std::move(b));
}

uint64_t Layout::word_sum() const {
  uint64_t sum = checksum_word_sum(headers, 0);
  for (auto& p : pieces) sum += checksum_word_sum(p.data, p.offset);
  return sum;
}

uint64_t Layout::word_sum(uint64_t offset, uint64_t len) const {
  uint64_t sum = 0, pos = offset;
  visit(offset, len, [&](ByteSpan d) {
    sum += checksum_word_sum(d, pos);
    pos += d.size();
  });
  return sum;
}

void Layout::set_checksum(uint64_t word_sum_after_headers) {
  store_le<uint32_t>(headers.data() + checksum_offset, 0);
  checksum = fold_checksum(checksum_word_sum(headers, 0) + word_sum_after_headers, size);
  store_le<uint32_t>(headers.data() + checksum_offset, checksum);
}

Result<Bytes> Editor::write(const WriteOptions& options) const {
  Layout l = BS_TRY(layout(options));
  return l.materialize();
}

}  // namespace bootseal::pe
