#include "authenticode/authenticode.h"

#include <gtest/gtest.h>

#include "crypto/der.h"
#include "pe/testing.h"
#include "pe/writer.h"

namespace bootseal::authenticode {
namespace {

using crypto::HashAlg;

struct Keys {
  explicit Keys(std::string subject) : cert(make(subject)) {}
  crypto::PrivateKey key = *crypto::PrivateKey::generate(crypto::KeyType::kRsa2048);
  crypto::Certificate cert;
  crypto::Certificate make(std::string subject) {
    crypto::CertificateProfile p;
    p.subject = subject;
    p.not_before = 1700000000;
    p.not_after = 2000000000;
    p.serial = {1, 2};
    p.code_signing = true;
    return *crypto::make_self_signed(key, p);
  }
};

Keys& keys() {
  static Keys k("CN=db");
  return k;
}
Keys& other() {
  static Keys k("CN=other");
  return k;
}

uint32_t dir_size(ByteSpan f) { return pe::parse(f)->certificate_table().Size; }

TEST(Authenticode, IndirectDataMatchesSbsignLayout) {
  Bytes d(32, 0xaa);
  Bytes idc = *spc_indirect_data_content(crypto::HashAlg::kSha256, d);
  // 30 68 | 30 33 06 0a <spcPEImageData> 30 25 03 01 00 a0 20 a2 1e 80 1c "<<<Obsolete>>>" | 30 31 ...
  ASSERT_EQ(idc.size(), 106u);
  EXPECT_EQ(idc[0], 0x30);
  EXPECT_EQ(idc[1], 0x68);
  IndirectData p = *parse_spc_indirect_data_content(idc);
  EXPECT_EQ(p.data_type_oid, kOidSpcPeImageData);
  EXPECT_EQ(p.digest_alg, crypto::HashAlg::kSha256);
  EXPECT_EQ(p.digest, d);
  EXPECT_FALSE(parse_spc_indirect_data_content(ByteSpan(idc.data(), 50)).ok());
}

TEST(Authenticode, SignVerifyUnsign) {
  Bytes img = pe::testing::tiny_pe();
  img.push_back(0x5a);  // an odd size: signing pads to 8 bytes
  EXPECT_FALSE(verify(img, {keys().cert})->ok());
  EXPECT_EQ(verify(img, {keys().cert})->failure(), "no signature: the image has no certificate table");
  SignOptions o;
  o.signing_time = 1750000000;
  Bytes s = *sign(img, keys().key, keys().cert, o);
  EXPECT_EQ(s.size() % 8, 0u);
  EXPECT_TRUE(verify_image(s, {keys().cert}).ok());
  // Deterministic for RSA with a fixed signing time.
  EXPECT_EQ(s, *sign(img, keys().key, keys().cert, o));
  // The checksum field is outside the signed range and was set.
  pe::Image parsed = *pe::parse(s);
  EXPECT_EQ(parsed.CheckSum, pe::compute_checksum(s, parsed.checksum_offset));
  // Wrong signer.
  auto w = verify_image(s, {other().cert});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::kCheckFailed);
  EXPECT_NE(w.error().message().find("wrong signer"), std::string::npos) << w.error().message();
  // A byte in a section changes the hash.
  Bytes t = s;
  t[0x200 + 5] ^= 1;
  auto h = verify_image(t, {keys().cert});
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.error().message().find("hash mismatch"), std::string::npos) << h.error().message();
  // Unsign: back to the (padded) input.
  Bytes u = *unsign(s);
  EXPECT_EQ(dir_size(u), 0u);
  EXPECT_EQ(u.size(), round_up(img.size(), 8));
  EXPECT_TRUE(std::equal(img.begin() + 0x200, img.end(), u.begin() + 0x200));
  EXPECT_FALSE(unsign(u).ok());
}

TEST(Authenticode, AppendAndReplace) {
  Bytes img = pe::testing::tiny_pe();
  Bytes s1 = *sign(img, keys().key, keys().cert, {});
  SignOptions app;
  app.append = true;
  Bytes s2 = *sign(s1, other().key, other().cert, app);
  auto rep = *verify(s2, {other().cert});
  ASSERT_EQ(rep.signatures.size(), 2u);
  EXPECT_FALSE(rep.signatures[0].ok);
  EXPECT_TRUE(rep.signatures[1].ok);
  EXPECT_TRUE(verify_image(s2, {keys().cert}).ok());
  Bytes s3 = *sign(s2, keys().key, keys().cert, {});
  EXPECT_EQ(verify(s3, {keys().cert})->signatures.size(), 1u);
  // Key not matching the certificate.
  EXPECT_FALSE(sign(img, other().key, keys().cert, {}).ok());
}

// A layout with gaps and odd-sized pieces (what uki build hands the signer);
// its pieces view `base` and the two section buffers here.
Bytes odd_section(0x123, 0xf1), odd_section2(0x7, 0x1f);
pe::Layout edited_layout(ByteSpan base) {
  auto ed = *pe::Editor::open(base);
  EXPECT_TRUE(ed.add_section(".odd", ByteSpan(odd_section), pe::kScnCntInitializedData | pe::kScnMemRead).ok());
  EXPECT_TRUE(ed.add_section(".odd2", ByteSpan(odd_section2), pe::kScnCntInitializedData | pe::kScnMemRead).ok());
  return *ed.layout({.update_checksum = false});
}

TEST(Authenticode, SignLayoutEqualsSigningTheMaterializedImage) {
  Bytes base = pe::testing::tiny_pe();
  pe::Layout l = edited_layout(base);
  Bytes flat = l.materialize();
  SignOptions o;
  o.signing_time = 1750000000;
  // The hash from the pieces equals the hash of the flat file.
  pe::AuthenticodeRanges ranges = *pe::authenticode_ranges(*pe::parse(flat));
  EXPECT_EQ(*image_hash(l, ranges, HashAlg::kSha256), *image_hash(flat, ranges, HashAlg::kSha256));
  auto sl = sign_layout(l, keys().key, keys().cert, o);
  ASSERT_TRUE(sl.ok()) << sl.error().message();
  Bytes signed_flat = *sign(flat, keys().key, keys().cert, o);
  EXPECT_EQ(sl->materialize(), signed_flat);
  EXPECT_EQ(*sign(ByteSpan(flat), keys().key, keys().cert, o), signed_flat);
  EXPECT_EQ(sl->checksum, pe::compute_checksum(signed_flat, sl->checksum_offset));
  EXPECT_TRUE(verify_image(signed_flat, {keys().cert}).ok());
  // Section data is not copied: the pieces still view the editor's buffers.
  EXPECT_EQ(sl->pieces.front().data.data(), l.pieces.front().data.data());
  // In steps: everything after the headers is final once prepared.
  PreparedImage p = *prepare_signing(l, false);
  Bytes body = p.layout.read(p.layout.headers.size(), p.layout.size - p.layout.headers.size());
  Bytes hash = *image_hash(p.layout, p.ranges, HashAlg::kSha256);
  pe::Layout done = *finish_signing(std::move(p), hash, keys().key, keys().cert, o);
  Bytes m = done.materialize();
  EXPECT_EQ(m, signed_flat);
  EXPECT_TRUE(std::equal(body.begin(), body.end(), m.begin() + static_cast<ptrdiff_t>(done.headers.size())));
}

TEST(Authenticode, SignLayoutAppendAndReplace) {
  Bytes base = pe::testing::tiny_pe();
  Bytes s1 = *sign(edited_layout(base).materialize(), keys().key, keys().cert, {});
  pe::Image img = *pe::parse(s1);
  SignOptions app;
  app.append = true;
  app.signing_time = 1750000000;
  pe::Layout two = *sign_layout(pe::Layout::of_file(s1, img.SizeOfHeaders), other().key, other().cert, app);
  Bytes s2 = two.materialize();
  EXPECT_EQ(s2, *sign(s1, other().key, other().cert, app));
  EXPECT_EQ(s2, *sign(ByteSpan(s1), other().key, other().cert, app));
  auto rep = *verify(s2, {keys().cert, other().cert});
  ASSERT_EQ(rep.signatures.size(), 2u);
  EXPECT_TRUE(rep.signatures[0].ok);
  EXPECT_TRUE(rep.signatures[1].ok);
  // Replacing: one signature, the table where the old one started.
  pe::Layout one = *sign_layout(pe::Layout::of_file(s2, img.SizeOfHeaders), keys().key, keys().cert, {});
  Bytes s3 = one.materialize();
  EXPECT_EQ(verify(s3, {keys().cert})->signatures.size(), 1u);
  EXPECT_EQ(pe::parse(s3)->certificate_table().VirtualAddress, img.certificate_table().VirtualAddress);
  // A malformed old table is refused when appending.
  Bytes bad = s1;
  store_le<uint32_t>(bad.data() + img.certificate_table().VirtualAddress, 4);
  EXPECT_FALSE(sign_layout(pe::Layout::of_file(bad, img.SizeOfHeaders), keys().key, keys().cert, app).ok());
}

TEST(Authenticode, MalformedTables) {
  Bytes s = *sign(pe::testing::tiny_pe(), keys().key, keys().cert, {});
  pe::Image img = *pe::parse(s);
  size_t dir = *img.security_dir_offset;
  uint32_t va = img.certificate_table().VirtualAddress;
  Bytes t = s;
  store_le<uint32_t>(t.data() + va, 4);  // dwLength below the header
  EXPECT_FALSE(verify(t, {keys().cert}).ok());
  t = s;
  store_le<uint32_t>(t.data() + va, 0x100000);  // dwLength past the table
  EXPECT_FALSE(verify(t, {keys().cert}).ok());
  t = s;
  store_le<uint32_t>(t.data() + dir + 4, 0x7fffffff);  // table outside the file
  EXPECT_FALSE(verify(t, {keys().cert}).ok());
  t = s;
  store_le<uint16_t>(t.data() + va + 6, 1);  // WIN_CERT_TYPE_X509
  auto r = *verify(t, {keys().cert});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.failure().find("malformed"), std::string::npos);
  t = s;
  t[va + 8 + 20] ^= 0xff;  // inside the PKCS#7 header
  EXPECT_FALSE(verify(t, {keys().cert})->ok());
  // A table not at the end of the file cannot be replaced.
  t = s;
  t.push_back(0);
  EXPECT_FALSE(sign(t, keys().key, keys().cert, {}).ok());
}

// The last entry's alignment padding may reach past the table's end (a
// 12-byte table whose one entry has dwLength 9): the walk stops there
// instead of wrapping around and reading past the table (found by fuzzing).
TEST(Authenticode, PaddingPastTheTableEnds) {
  Bytes table(12 + 64, 0xee);  // bytes after the table must not be read
  store_le<uint32_t>(table.data(), 9);
  store_le<uint16_t>(table.data() + 4, 0x0200);
  store_le<uint16_t>(table.data() + 6, 0x0002);
  auto r = certificate_entries(ByteSpan(table.data(), 12), 0x1000);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].bCertificate.size(), 1u);
}

}  // namespace
}  // namespace bootseal::authenticode
