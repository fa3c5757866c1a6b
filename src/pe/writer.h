// Editing PE32+ images: add, replace and remove sections and write a new image
// that UEFI loaders accept.
//
// Layout rules (the ones ukify and objcopy follow, and the PE spec requires):
// - a new section goes after the highest section end in the address space,
//   VirtualAddress rounded up to SectionAlignment; its raw data is appended
//   after the last raw data, PointerToRawData and SizeOfRawData rounded up to
//   FileAlignment and zero-padded;
// - existing sections keep their addresses and (unless the headers grow) their
//   file offsets, so code and relocations of the original image stay valid;
// - SizeOfHeaders is rounded up to FileAlignment; when the section table has no
//   room for another header the headers grow by whole FileAlignment units and
//   raw data moves down, which is refused clearly when the headers would reach
//   the first section's RVA (they are mapped below it) or a debug directory
//   holds file pointers;
// - SizeOfImage, NumberOfSections and SizeOfInitializedData are recomputed; an
//   existing certificate table is dropped (any change invalidates it) and a
//   COFF symbol table at the end of the file is stripped, as ukify does;
// - the PE checksum is recomputed (or zeroed, as ukify leaves it).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pe/pe.h"

namespace bootseal::pe {

struct WriteOptions {
  // Recompute OptionalHeader.CheckSum (true) or write 0 there (what ukify does).
  bool update_checksum = true;
};

// A written image as pieces: the new headers, then views of section data (and
// trailing data) at their file offsets; everything else is zero. Writing it
// piece by piece avoids copying large sections into one buffer, and a signer
// can hash and patch it (authenticode::sign_layout) without materializing it.
struct Layout {
  struct Piece {
    uint64_t offset = 0;
    ByteSpan data;
  };
  Bytes headers;              // file bytes [0, headers.size())
  std::vector<Piece> pieces;  // ascending, non-overlapping, after the headers
  uint64_t size = 0;          // total file size
  size_t checksum_offset = 0;
  uint32_t checksum = 0;      // 0 unless WriteOptions::update_checksum
  // Buffers that pieces view and the layout owns (section data an Editor
  // owned, what append() added).
  std::vector<std::shared_ptr<const Bytes>> owned;

  // An existing file as a layout: a copy of its first `header_size` bytes
  // (to be patched) and one view of the rest. `file` must outlive the layout.
  static Layout of_file(ByteSpan file, size_t header_size);

  // The whole file in one buffer, with capacity for `reserve_extra` more bytes.
  Bytes materialize(size_t reserve_extra = 0) const;
  // Calls fn(ByteSpan) with consecutive spans covering [offset, offset + len):
  // header bytes, views of pieces, zeros in the gaps. False (and no calls) if
  // the range is not inside the file.
  template <typename F>
  bool visit(uint64_t offset, uint64_t len, F&& fn) const;
  // A copy of [offset, offset + len) (must be inside the file).
  Bytes read(uint64_t offset, uint64_t len) const;
  // Cuts the file at new_size (headers.size() <= new_size <= size).
  void truncate(uint64_t new_size);
  // Appends `data` at `offset` (>= size, zeros between); the layout owns it.
  void append(uint64_t offset, Bytes data);
  // checksum_word_sum() over the file as it stands (headers as they are,
  // including whatever their CheckSum field holds), or over a range of it.
  uint64_t word_sum() const;
  uint64_t word_sum(uint64_t offset, uint64_t len) const;
  // Sets `checksum` and the CheckSum field in the headers, given the word sum
  // of everything after the headers (from word_sum(), or from a writer that
  // summed the bytes as it wrote them).
  void set_checksum(uint64_t word_sum_after_headers);
};

// 64 KiB of zeros, for gaps.
ByteSpan zero_block();

template <typename F>
bool Layout::visit(uint64_t offset, uint64_t len, F&& fn) const {
  if (!in_bounds(offset, len, size)) return false;
  uint64_t pos = offset, end = offset + len;
  auto zeros_to = [&](uint64_t to) {
    ByteSpan z = zero_block();
    while (pos < to) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(z.size(), to - pos));
      fn(z.first(n));
      pos += n;
    }
  };
  if (pos < headers.size()) {
    uint64_t e = std::min<uint64_t>(end, headers.size());
    fn(ByteSpan(headers).subspan(pos, e - pos));
    pos = e;
  }
  for (const Piece& p : pieces) {
    if (pos >= end) break;
    uint64_t pend = p.offset + p.data.size();
    if (pend <= pos) continue;
    zeros_to(std::min(end, p.offset));
    if (pos >= end) break;
    uint64_t e = std::min(end, pend);
    fn(p.data.subspan(pos - p.offset, e - pos));
    pos = e;
  }
  zeros_to(end);
  return true;
}

class Editor {
 public:
  // Parses `file`, which must outlive the Editor (sections are views into it).
  static Result<Editor> open(ByteSpan file);

  const Image& image() const { return image_; }
  // Current section names, in section-table order.
  std::vector<std::string> section_names() const;
  bool has_section(std::string_view name) const;

  // Appends a section. `data` is a view the caller keeps alive until write();
  // the Bytes overload takes ownership. Names are at most 8 bytes; data must
  // not be empty.
  Status add_section(std::string_view name, ByteSpan data, uint32_t characteristics);
  Status add_section(std::string_view name, Bytes data, uint32_t characteristics);

  // Appends a section whose contents are `parts` end to end, each padded with
  // zeros to a multiple of `part_alignment` (a power of two): the layout
  // places each part at its offset, so nothing is joined or copied. Views the
  // caller keeps alive until write().
  Status add_section_parts(std::string_view name, const std::vector<ByteSpan>& parts, uint64_t part_alignment,
                           uint32_t characteristics);

  // Replaces the contents of an existing section. In place when the new data
  // fits in its SizeOfRawData (VirtualSize becomes the new size, the rest is
  // zero); a section that is last in both the file and the address space may
  // also grow. Otherwise, with allow_move, the section is removed and added
  // again at the end (for data-only sections such as a UKI's .cmdline); without
  // it this is an error, since moving would break references into it.
  Status replace_section(std::string_view name, ByteSpan data, bool allow_move = false);
  Status replace_section(std::string_view name, Bytes data, bool allow_move = false);

  // Removes a section: its header and raw data go, other sections keep their
  // addresses (a hole may remain in the address space).
  Status remove_section(std::string_view name);

  void set_dll_characteristics(uint16_t v) { dll_characteristics_ = v; }
  uint16_t dll_characteristics() const { return dll_characteristics_; }

  // Lays out the new image: views into the inputs, which must stay alive
  // (section data the editor owns is kept alive by the layout).
  Result<Layout> layout(const WriteOptions& options = {}) const;
  // Lays out and writes the new image into one buffer.
  Result<Bytes> write(const WriteOptions& options = {}) const;

 private:
  struct Entry {
    Section header;
    std::vector<Layout::Piece> parts;  // raw bytes at offsets in the section (zero elsewhere, up to SizeOfRawData)
    std::shared_ptr<const Bytes> owned;
    bool is_new = false;
    uint32_t original_pointer = 0;
  };
  explicit Editor(ByteSpan file, Image image);
  Status add_entry(std::string_view name, std::vector<Layout::Piece> parts, uint64_t size,
                   std::shared_ptr<const Bytes> owned, uint32_t characteristics);
  Status replace_entry(std::string_view name, ByteSpan data, std::shared_ptr<const Bytes> owned, bool allow_move);
  uint64_t next_virtual_address() const;

  ByteSpan file_;
  Image image_;
  std::vector<Entry> entries_;
  uint32_t size_of_initialized_data_;
  uint16_t dll_characteristics_;
};

}  // namespace bootseal::pe
