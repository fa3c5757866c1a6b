#include "pe/pe.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "pe/testing.h"
#include "pe/writer.h"

namespace bootseal::pe {
namespace {

using testing::tiny_pe;

constexpr size_t kSecTable = 0x40 + 4 + 20 + 240;

Bytes read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), {});
}

TEST(PeParse, TinyImage) {
  Bytes f = tiny_pe();
  auto img = parse(f);
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_EQ(img->Magic, kPe32PlusMagic);
  EXPECT_EQ(img->sections.size(), 2u);
  EXPECT_EQ(img->sections[0].name(), ".text");
  EXPECT_EQ(img->sections[1].VirtualAddress, 0x2000u);
  EXPECT_EQ(img->section_table_offset, kSecTable);
  EXPECT_EQ(img->checksum_offset, 0x40u + 24 + 64);
  ASSERT_TRUE(img->security_dir_offset);
  EXPECT_EQ(*img->security_dir_offset, 0x40u + 24 + 112 + 32);
  EXPECT_FALSE(img->has_certificate_table());
  EXPECT_TRUE(looks_like_pe(f));
  ByteSpan d = section_data(f, img->sections[1]);
  EXPECT_EQ(d.size(), 0x100u);
  EXPECT_EQ(d[1], 4);
}

void expect_error(const Bytes& f, std::string_view needle) {
  auto img = parse(f);
  ASSERT_FALSE(img.ok());
  EXPECT_NE(img.error().message().find(needle), std::string::npos) << img.error().message();
}

TEST(PeParse, NotAPe) {
  expect_error(Bytes(200, 'x'), "not a PE image");
  Bytes f = tiny_pe();
  f[0x40] = 'N';
  expect_error(f, "no PE signature");
  f = tiny_pe();
  store_le<uint32_t>(f.data() + kDosLfanewOffset, 0xfffffff0);
  expect_error(f, "outside the file");
  expect_error(Bytes{}, "not a PE image");
  EXPECT_FALSE(looks_like_pe(Bytes(3, 0)));
}

TEST(PeParse, Truncated) {
  Bytes f = tiny_pe();
  for (size_t n : {2, 0x3e, 0x44, 0x50, 0x100, 0x150}) {
    Bytes t(f.begin(), f.begin() + n);
    auto img = parse(t);
    EXPECT_FALSE(img.ok()) << n;
  }
  expect_error(Bytes(f.begin(), f.begin() + 0x150), "truncated headers");
  // Sections cut off: raw data past EOF.
  expect_error(Bytes(f.begin(), f.begin() + 0x300), "outside the file");
}

TEST(PeParse, SectionOutOfBounds) {
  Bytes f = tiny_pe();
  store_le<uint32_t>(f.data() + kSecTable + 40 + 16, 0x10000);  // .data SizeOfRawData
  expect_error(f, "outside the file");
  f = tiny_pe();
  store_le<uint32_t>(f.data() + kSecTable + 40 + 20, 0xffffff00);  // PointerToRawData near 4 GiB
  expect_error(f, "outside the file");
  f = tiny_pe();
  store_le<uint32_t>(f.data() + kSecTable + 20, 0x100);  // raw data inside the headers
  expect_error(f, "overlaps the headers");
  f = tiny_pe();
  store_le<uint32_t>(f.data() + 0x40 + 24 + 56, 0x2000);  // SizeOfImage too small
  expect_error(f, "past SizeOfImage");
}

TEST(PeParse, OverlappingSections) {
  Bytes f = tiny_pe();
  store_le<uint32_t>(f.data() + kSecTable + 40 + 20, 0x300);  // .data raw inside .text's raw data
  expect_error(f, "overlap in the file");
  f = tiny_pe();
  store_le<uint32_t>(f.data() + kSecTable + 40 + 12, 0x1080);  // .data VA inside .text
  expect_error(f, "overlap in the address space");
}

TEST(PeParse, BadHeaders) {
  Bytes f = tiny_pe();
  store_le<uint16_t>(f.data() + 0x40 + 24, 0x10b);
  EXPECT_EQ(parse(f).error().kind(), ErrorKind::kUnsupported);
  f = tiny_pe();
  store_le<uint16_t>(f.data() + 0x40 + 24, 0x1234);
  expect_error(f, "not a PE32+ image");
  f = tiny_pe();
  store_le<uint32_t>(f.data() + 0x40 + 24 + 36, 0x300);  // FileAlignment not a power of two
  expect_error(f, "bad alignment");
  f = tiny_pe();
  store_le<uint16_t>(f.data() + 0x40 + 4 + 2, 200);  // NumberOfSections
  expect_error(f, "too many sections");
  f = tiny_pe();
  store_le<uint16_t>(f.data() + 0x40 + 4 + 2, 20);  // table runs past SizeOfHeaders
  expect_error(f, "past SizeOfHeaders");
  f = tiny_pe();
  store_le<uint16_t>(f.data() + 0x40 + 4 + 16, 64);  // SizeOfOptionalHeader too small
  expect_error(f, "truncated headers");
}

TEST(PeParse, CertificateTableOutsideFile) {
  Bytes f = tiny_pe();
  size_t sec = 0x40 + 24 + 112 + 32;
  store_le<uint32_t>(f.data() + sec, static_cast<uint32_t>(f.size()));
  store_le<uint32_t>(f.data() + sec + 4, 0x100);
  expect_error(f, "certificate table at offset");
  // Inside the file but over section data.
  store_le<uint32_t>(f.data() + sec, 0x200);
  store_le<uint32_t>(f.data() + sec + 4, 0x10);
  expect_error(f, "overlaps section data");
  store_le<uint32_t>(f.data() + sec, 0x100);
  expect_error(f, "overlaps the headers");
  // A proper table at the end parses.
  f.resize(f.size() + 0x10, 0);
  store_le<uint32_t>(f.data() + sec, static_cast<uint32_t>(f.size() - 0x10));
  auto img = parse(f);
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_TRUE(img->has_certificate_table());
}

TEST(PeChecksum, KnownValues) {
  // Values computed with pefile's PE.generate_checksum() on the same bytes.
  Bytes f = tiny_pe();
  auto img = parse(f);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(compute_checksum(f, img->checksum_offset), 0x6abbu);
  // The field's own value does not matter.
  store_le<uint32_t>(f.data() + img->checksum_offset, 0xdeadbeef);
  EXPECT_EQ(compute_checksum(f, img->checksum_offset), 0x6abbu);
  // Odd length: the last byte counts as a word.
  Bytes odd = {1, 2, 3, 4, 5};
  EXPECT_EQ(compute_checksum(odd, 100), ((0x0201 + 0x0403 + 0x05) & 0xffff) + 5u);
  // Carries fold back in.
  Bytes ff(8, 0xff);
  EXPECT_EQ(compute_checksum(ff, 100), 0xffffu + 8u);
}

// Word by word, as the checksum is defined.
uint64_t naive_word_sum(ByteSpan d, uint64_t offset) {
  uint64_t sum = 0;
  for (size_t i = 0; i < d.size(); i++) sum += (offset + i) % 2 ? uint64_t{d[i]} << 8 : d[i];
  return sum;
}

TEST(PeChecksum, FastWordSumEqualsWordByWord) {
  // Lengths around the 32- and 8-byte steps and the 2^14-step block (512 KiB
  // of 32-byte steps), odd and even file offsets, all-0xff data (largest lane
  // sums) and random data.
  Bytes ff(1100000, 0xff), rnd(1100000);
  uint32_t x = 12345;
  for (auto& b : rnd) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  for (const Bytes* data : {&ff, &rnd})
    for (size_t len : {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 131073, 524287, 524288, 524289, 524327,
                        1048576, 1048583, 1100000})
      for (uint64_t off : {0, 1, 2, 3}) {
        ByteSpan d = ByteSpan(*data).first(len);
        EXPECT_EQ(checksum_word_sum(d, off), naive_word_sum(d, off)) << len << " at " << off;
      }
  // compute_checksum = the parts, with the field skipped, at odd and even offsets.
  for (size_t cs : {0, 1, 64, 65, 1099996, 1099999, 2000000}) {
    Bytes f = rnd;
    uint64_t sum = 0;
    for (size_t i = 0; i < f.size(); i++)
      if (i < cs || i >= cs + 4) sum += i % 2 ? uint64_t{f[i]} << 8 : f[i];
    EXPECT_EQ(compute_checksum(f, cs), fold_checksum(sum, f.size())) << cs;
  }
}

TEST(PeParse, HeadersOnly) {
  // parse_headers() on the header bytes with the file's size equals parse().
  Bytes f = tiny_pe();
  auto full = parse(f);
  ASSERT_TRUE(full.ok());
  auto head = parse_headers(ByteSpan(f).first(0x200), f.size());
  ASSERT_TRUE(head.ok()) << head.error().message();
  EXPECT_EQ(head->file_size, f.size());
  EXPECT_EQ(head->sections.size(), full->sections.size());
  EXPECT_EQ(head->SizeOfHeaders, full->SizeOfHeaders);
  // Section data is checked against the file size, not the bytes given.
  auto small = parse_headers(ByteSpan(f).first(0x200), 0x500);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message().find("outside the file"), std::string::npos) << small.error().message();
  // Fewer bytes than SizeOfHeaders: truncated headers.
  auto cut = parse_headers(ByteSpan(f).first(0x1ff), f.size());
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message().find("truncated headers"), std::string::npos) << cut.error().message();
}

TEST(PeAuthenticode, Ranges) {
  Bytes f = tiny_pe();
  auto img = parse(f);
  ASSERT_TRUE(img.ok());
  auto r = authenticode_ranges(*img);
  ASSERT_TRUE(r.ok()) << r.error().message();
  size_t cs = img->checksum_offset, sd = *img->security_dir_offset;
  std::vector<Range> want = {{0, cs}, {cs + 4, sd - cs - 4}, {sd + 8, 0x200 - sd - 8}, {0x200, 0x200}, {0x400, 0x200}};
  EXPECT_EQ(r->ranges, want);
  EXPECT_EQ(r->signed_data_end, 0x600u);
  // With trailing data and a certificate table: trailing data hashed, table not.
  f.resize(0x610, 0xaa);
  f.resize(0x620, 0);
  store_le<uint32_t>(f.data() + sd, 0x610);
  store_le<uint32_t>(f.data() + sd + 4, 0x10);
  img = parse(f);
  ASSERT_TRUE(img.ok()) << img.error().message();
  r = authenticode_ranges(*img);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ranges.back(), (Range{0x600, 0x10}));
  EXPECT_EQ(r->cert_table_offset, 0x610u);
  EXPECT_EQ(r->cert_table_size, 0x10u);
}

// --- writer ---

TEST(PeWriter, LayoutMatchesMaterializedImage) {
  Bytes f = tiny_pe();
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok());
  ASSERT_TRUE(ed->add_section(".odd", Bytes(0x123, 0xf1), kScnCntInitializedData | kScnMemRead).ok());
  ASSERT_TRUE(ed->add_section(".odd2", Bytes(0x7, 0x1f), kScnCntInitializedData | kScnMemRead).ok());
  auto l = ed->layout();
  ASSERT_TRUE(l.ok());
  Bytes m = l->materialize();
  EXPECT_EQ(m.size(), l->size);
  // The streamed checksum equals the checksum of the whole file.
  EXPECT_EQ(l->checksum, compute_checksum(m, l->checksum_offset));
  EXPECT_EQ(load_le<uint32_t>(m.data() + l->checksum_offset), l->checksum);
  for (size_t i = 1; i < l->pieces.size(); i++)
    EXPECT_GE(l->pieces[i].offset, l->pieces[i - 1].offset + l->pieces[i - 1].data.size());
}

TEST(PeWriter, LayoutVisitReadTruncateAppend) {
  Bytes f = tiny_pe();
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok());
  ASSERT_TRUE(ed->add_section(".odd", Bytes(0x123, 0xf1), kScnCntInitializedData | kScnMemRead).ok());
  ASSERT_TRUE(ed->add_section(".odd2", Bytes(0x7, 0x1f), kScnCntInitializedData | kScnMemRead).ok());
  Layout l = *ed->layout();
  Bytes m = l.materialize();
  // Any range reads as the materialized bytes (headers, pieces, zero gaps).
  for (uint64_t off : {0, 1, 0x1ff, 0x200, 0x3ff, 0x600, 0x723, 0x724, 0x7ff})
    for (uint64_t len : {0, 1, 2, 0x100, 0x333})
      if (off + len <= m.size()) {
        EXPECT_EQ(l.read(off, len), Bytes(m.begin() + off, m.begin() + off + len)) << off << "+" << len;
      }
  EXPECT_FALSE(l.visit(m.size() - 1, 2, [](ByteSpan) {}));
  EXPECT_EQ(l.word_sum(), checksum_word_sum(m, 0));
  // Truncate inside a piece, then append after a gap.
  l.truncate(0x700);
  l.append(0x708, Bytes{1, 2, 3});
  Bytes want(m.begin(), m.begin() + 0x700);
  want.resize(0x708, 0);
  want.insert(want.end(), {1, 2, 3});
  EXPECT_EQ(l.size, want.size());
  EXPECT_EQ(l.materialize(), want);
  // Section data the editor owned outlives it.
  Layout owned;
  {
    auto e2 = Editor::open(f);
    ASSERT_TRUE(e2->add_section(".own", Bytes(0x99, 0x5c), kScnCntInitializedData | kScnMemRead).ok());
    owned = *e2->layout();
  }
  EXPECT_EQ(owned.read(owned.pieces.back().offset, 0x99), Bytes(0x99, 0x5c));
  // A file as a layout is the file.
  Layout o = Layout::of_file(f, 0x200);
  EXPECT_EQ(o.materialize(), f);
  EXPECT_EQ(o.headers.size(), 0x200u);
}

TEST(PeWriter, SectionFromPartsEqualsJoinedSection) {
  // Parts padded to 4 bytes each (how a UKI's initrds are concatenated), an
  // empty part, and a part ending on the FileAlignment boundary.
  Bytes a(5, 0xa1), b(0x1fb, 0xb2), c(3, 0xc3);
  std::vector<ByteSpan> parts = {a, ByteSpan(), b, c};
  Bytes joined;
  for (ByteSpan p : parts) {
    joined.insert(joined.end(), p.begin(), p.end());
    joined.resize(round_up(joined.size(), 4), 0);
  }
  Bytes f = tiny_pe();
  auto e1 = Editor::open(f);
  auto e2 = Editor::open(f);
  ASSERT_TRUE(e1->add_section_parts(".initrd", parts, 4, kScnCntInitializedData | kScnMemRead).ok());
  ASSERT_TRUE(e1->add_section(".after", Bytes(7, 0x77), kScnCntInitializedData | kScnMemRead).ok());
  ASSERT_TRUE(e2->add_section(".initrd", ByteSpan(joined), kScnCntInitializedData | kScnMemRead).ok());
  ASSERT_TRUE(e2->add_section(".after", Bytes(7, 0x77), kScnCntInitializedData | kScnMemRead).ok());
  Layout l1 = *e1->layout(), l2 = *e2->layout();
  EXPECT_EQ(l1.materialize(), l2.materialize());
  EXPECT_EQ(l1.checksum, l2.checksum);
  EXPECT_EQ(l1.pieces.size(), l2.pieces.size() + 2);  // three parts, no joined copy
  EXPECT_FALSE(e1->add_section_parts(".none", {ByteSpan(), ByteSpan()}, 4, kScnMemRead).ok());
  EXPECT_FALSE(e1->add_section_parts(".bad", parts, 3, kScnMemRead).ok());
}

TEST(PeWriter, UnchangedRoundTripIsIdentity) {
  Bytes f = tiny_pe();
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok());
  auto out = ed->write({.update_checksum = false});
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(*out, f);
}

TEST(PeWriter, AddSection) {
  Bytes f = tiny_pe();
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok());
  Bytes payload(0x1234, 0x5a);
  ASSERT_TRUE(ed->add_section(".linux", payload, kScnCntCode | kScnMemRead).ok());
  ASSERT_TRUE(ed->add_section(".cmdline", Bytes{'a', 'b', 'c'}, kScnCntInitializedData | kScnMemRead).ok());
  auto out = ed->write();
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto img = parse(*out);
  ASSERT_TRUE(img.ok()) << img.error().message();
  ASSERT_EQ(img->sections.size(), 4u);
  const Section& lx = img->sections[2];
  EXPECT_EQ(lx.name(), ".linux");
  EXPECT_EQ(lx.VirtualAddress, 0x3000u);
  EXPECT_EQ(lx.VirtualSize, 0x1234u);
  EXPECT_EQ(lx.PointerToRawData, 0x600u);
  EXPECT_EQ(lx.SizeOfRawData, 0x1400u);
  const Section& cl = img->sections[3];
  EXPECT_EQ(cl.VirtualAddress, 0x5000u);
  EXPECT_EQ(cl.PointerToRawData, 0x1a00u);
  EXPECT_EQ(cl.SizeOfRawData, 0x200u);
  EXPECT_EQ(img->SizeOfImage, 0x6000u);
  EXPECT_EQ(img->SizeOfHeaders, 0x200u);
  EXPECT_EQ(img->SizeOfInitializedData, 0x200u + 0x1234u + 3u);
  EXPECT_EQ(out->size(), 0x1c00u);
  EXPECT_EQ(as_string(section_data(*out, cl)), "abc");
  ByteSpan ld = section_data(*out, lx);
  EXPECT_TRUE(std::equal(ld.begin(), ld.end(), payload.begin(), payload.end()));
  EXPECT_EQ(img->CheckSum, compute_checksum(*out, img->checksum_offset));
  EXPECT_NE(img->CheckSum, 0u);
  // Original sections untouched.
  EXPECT_TRUE(std::equal(out->begin() + 0x200, out->begin() + 0x600, f.begin() + 0x200));
  // Zero checksum on request (what ukify writes).
  auto z = ed->write({.update_checksum = false});
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(parse(*z)->CheckSum, 0u);
}

TEST(PeWriter, ReplaceInPlaceAndMove) {
  Bytes f = tiny_pe();
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok());
  // .text is not last: a small replacement goes in place.
  ASSERT_TRUE(ed->replace_section(".text", Bytes(0x20, 0x11)).ok());
  // Too big for .text and not last: refused without allow_move.
  auto st = ed->replace_section(".text", Bytes(0x400, 0x22));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("do not fit"), std::string::npos);
  // .data is last in file and memory: it may grow in place.
  ASSERT_TRUE(ed->replace_section(".data", Bytes(0x900, 0x33)).ok());
  auto out = ed->write();
  ASSERT_TRUE(out.ok());
  auto img = parse(*out);
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_EQ(img->sections[0].VirtualSize, 0x20u);
  EXPECT_EQ(img->sections[0].SizeOfRawData, 0x200u);
  EXPECT_EQ((*out)[0x200 + 0x20], 0);  // old bytes past the new size are zeroed
  EXPECT_EQ(img->sections[1].VirtualSize, 0x900u);
  EXPECT_EQ(img->sections[1].SizeOfRawData, 0xa00u);
  EXPECT_EQ(img->SizeOfImage, 0x3000u);
  // With allow_move the section goes to the end.
  ASSERT_TRUE(ed->replace_section(".text", Bytes(0x400, 0x22), true).ok());
  out = ed->write();
  ASSERT_TRUE(out.ok());
  img = parse(*out);
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_EQ(img->sections.back().name(), ".text");
  EXPECT_EQ(img->sections.back().VirtualAddress, 0x3000u);
}

TEST(PeWriter, RemoveSection) {
  Bytes f = tiny_pe();
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok());
  ASSERT_TRUE(ed->add_section(".osrel", Bytes{'I', 'D', '=', 'x'}, kScnCntInitializedData | kScnMemRead).ok());
  ASSERT_TRUE(ed->remove_section(".data").ok());
  EXPECT_FALSE(ed->remove_section(".nope").ok());
  auto out = ed->write();
  ASSERT_TRUE(out.ok());
  auto img = parse(*out);
  ASSERT_TRUE(img.ok()) << img.error().message();
  ASSERT_EQ(img->sections.size(), 2u);
  EXPECT_EQ(img->sections[1].name(), ".osrel");
  EXPECT_EQ(img->sections[1].VirtualAddress, 0x3000u);  // keeps the address it was given
  EXPECT_EQ(img->sections[1].PointerToRawData, 0x400u);  // raw data closes the gap
  // The stale third header slot is zeroed.
  for (size_t i = 0; i < kSectionHeaderSize; i++) EXPECT_EQ((*out)[kSecTable + 2 * 40 + i], 0);
}

TEST(PeWriter, GrowsHeaders) {
  Bytes f = tiny_pe();
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok());
  for (const char* n : {".a", ".b", ".c", ".d"})
    ASSERT_TRUE(ed->add_section(n, Bytes(10, 1), kScnCntInitializedData | kScnMemRead).ok());
  auto out = ed->write();
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto img = parse(*out);
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_EQ(img->SizeOfHeaders, 0x400u);
  EXPECT_EQ(img->sections[0].PointerToRawData, 0x400u);
  ByteSpan text = section_data(*out, img->sections[0]);
  EXPECT_TRUE(std::equal(text.begin(), text.end(), f.begin() + 0x200));
  EXPECT_EQ(img->sections.size(), 6u);
}

TEST(PeWriter, RefusesToMoveDataADebugDirectoryPointsAt) {
  Bytes f = tiny_pe();
  size_t debug_dir = 0x40 + 24 + 112 + 8 * kDirDebug;
  store_le<uint32_t>(f.data() + debug_dir, 0x2000);
  store_le<uint32_t>(f.data() + debug_dir + 4, 28);
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok()) << ed.error().message();
  // One more section fits in the existing headers: fine.
  ASSERT_TRUE(ed->add_section(".a", Bytes(1, 1), kScnCntInitializedData | kScnMemRead).ok());
  ASSERT_TRUE(ed->write().ok());
  // Three more need bigger headers, which would move raw data.
  for (const char* n : {".b", ".c"})
    ASSERT_TRUE(ed->add_section(n, Bytes(1, 1), kScnCntInitializedData | kScnMemRead).ok());
  auto out = ed->write();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().kind(), ErrorKind::kUnsupported);
  EXPECT_NE(out.error().message().find("debug directory"), std::string::npos);
}

TEST(PeWriter, NoRoomForHeaders) {
  // Section alignment equal to file alignment: the first section is mapped
  // right after the headers, so they cannot grow.
  Bytes f = tiny_pe({.file_alignment = 0x200, .section_alignment = 0x200});
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok()) << ed.error().message();
  for (const char* n : {".a", ".b", ".c"})
    ASSERT_TRUE(ed->add_section(n, Bytes(10, 1), kScnCntInitializedData | kScnMemRead).ok());
  auto out = ed->write();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message().find("no room for another section header"), std::string::npos);
}

TEST(PeWriter, HeadersNotRoundedPastFirstSection) {
  // FileAlignment 0x1000 but the first section mapped at 0x200: rounding
  // SizeOfHeaders up to FileAlignment would cover it (found by the fuzzer).
  Bytes f = tiny_pe({.file_alignment = 0x1000, .section_alignment = 0x1000});
  store_le<uint32_t>(f.data() + kSecTable + 12, 0x200);
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok()) << ed.error().message();
  ASSERT_TRUE(ed->add_section(".x", Bytes(3, 1), kScnCntInitializedData | kScnMemRead).ok());
  auto out = ed->write();
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto img = parse(*out);
  ASSERT_TRUE(img.ok()) << img.error().message();
  EXPECT_EQ(img->SizeOfHeaders, 0x200u);
}

TEST(PeWriter, DropsCertificateTable) {
  Bytes f = tiny_pe();
  size_t sd = 0x40 + 24 + 112 + 32;
  f.resize(0x610, 0x77);
  store_le<uint32_t>(f.data() + sd, 0x600);
  store_le<uint32_t>(f.data() + sd + 4, 0x10);
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok()) << ed.error().message();
  ASSERT_TRUE(ed->add_section(".x", Bytes(3, 1), kScnCntInitializedData | kScnMemRead).ok());
  auto out = ed->write();
  ASSERT_TRUE(out.ok());
  auto img = parse(*out);
  ASSERT_TRUE(img.ok());
  EXPECT_FALSE(img->has_certificate_table());
  EXPECT_EQ(out->size(), 0x800u);
}

TEST(PeWriter, BadNames) {
  Bytes f = tiny_pe();
  auto ed = Editor::open(f);
  ASSERT_TRUE(ed.ok());
  EXPECT_FALSE(ed->add_section(".toolongname", Bytes(1, 1), 0).ok());
  EXPECT_FALSE(ed->add_section("", Bytes(1, 1), 0).ok());
  EXPECT_FALSE(ed->add_section(".e", Bytes{}, 0).ok());
}

// A section with VirtualSize 0 is mapped as SizeOfRawData bytes; when the
// writer pads its raw data to FileAlignment, its extent in memory must not
// grow into the section added after it (found by fuzzing; the input is in
// the pe fuzz corpus).
TEST(Editor, SectionWithoutVirtualSizeKeepsItsExtent) {
  Bytes in = read_bytes(std::string(BOOTSEAL_SOURCE_DIR) + "/fuzz/corpus/pe/regress-vsize0-padding");
  auto ed = Editor::open(in);
  ASSERT_TRUE(ed.ok()) << ed.error().message();
  ASSERT_TRUE(ed->add_section(".cmdline", Bytes{'x'}, kScnCntInitializedData | kScnMemRead).ok());
  auto out = ed->write();
  ASSERT_TRUE(out.ok()) << out.error().message();
  auto img = parse(*out);
  ASSERT_TRUE(img.ok()) << img.error().message();
}

}  // namespace
}  // namespace bootseal::pe
