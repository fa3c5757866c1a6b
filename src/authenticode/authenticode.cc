#include "authenticode/authenticode.h"

#include <map>

#include "base/hex.h"
#include "crypto/der.h"

namespace bootseal::authenticode {

namespace der = crypto::der;
using crypto::HashAlg;

namespace {

// SpcString "<<<Obsolete>>>" as BMPString (UTF-16BE), what sbsign and signtool write.
constexpr std::u16string_view kObsolete = u"<<<Obsolete>>>";

struct HashOid {
  HashAlg alg;
  std::string_view oid;
};
constexpr HashOid kHashOids[] = {
    {HashAlg::kSha1, "1.3.14.3.2.26"},
    {HashAlg::kSha256, "2.16.840.1.101.3.4.2.1"},
    {HashAlg::kSha384, "2.16.840.1.101.3.4.2.2"},
    {HashAlg::kSha512, "2.16.840.1.101.3.4.2.3"},
};

std::string_view oid_of(HashAlg alg) {
  for (auto& h : kHashOids)
    if (h.alg == alg) return h.oid;
  return "";
}

void put_u32(Bytes& b, size_t off, uint32_t v) { store_le<uint32_t>(b.data() + off, v); }

}  // namespace

Result<std::vector<WinCertificate>> certificate_table(ByteSpan file, const pe::Image& image) {
  pe::DataDirectory dir = image.certificate_table();
  if (dir.Size == 0) return std::vector<WinCertificate>{};
  if (!in_bounds(dir.VirtualAddress, dir.Size, file.size()))
    return input_error("certificate table at offset {:#x} with size {} is outside the file ({} bytes)",
                       dir.VirtualAddress, dir.Size, file.size());
  return certificate_entries(file.subspan(dir.VirtualAddress, dir.Size), dir.VirtualAddress);
}

Result<std::vector<WinCertificate>> certificate_entries(ByteSpan table, uint64_t table_offset) {
  std::vector<WinCertificate> out;
  uint64_t off = 0;
  uint64_t end = table.size();
  // off may pass end by the alignment padding of the last entry.
  while (off < end && end - off >= kWinCertificateHeaderSize) {
    if (out.size() >= kMaxCertificates) return input_error("more than {} entries in the certificate table", kMaxCertificates);
    WinCertificate w;
    w.offset = table_offset + off;
    w.dwLength = load_le<uint32_t>(table.data() + off);
    w.wRevision = load_le<uint16_t>(table.data() + off + 4);
    w.wCertificateType = load_le<uint16_t>(table.data() + off + 6);
    if (w.dwLength < kWinCertificateHeaderSize || w.dwLength > end - off)
      return input_error("WIN_CERTIFICATE at offset {:#x}: dwLength {} does not fit the table ({} bytes left)",
                         w.offset, w.dwLength, end - off);
    w.bCertificate.assign(table.begin() + static_cast<ptrdiff_t>(off + kWinCertificateHeaderSize),
                          table.begin() + static_cast<ptrdiff_t>(off + w.dwLength));
    out.push_back(std::move(w));
    off += round_up(out.back().dwLength, kWinCertificateAlignment);
  }
  return out;
}

Result<Bytes> image_hash(ByteSpan file, const pe::AuthenticodeRanges& ranges, HashAlg alg) {
  crypto::Hasher h(alg);
  for (const pe::Range& r : ranges.ranges) {
    if (!in_bounds(r.offset, r.size, file.size()))
      return input_error("hashed range at offset {:#x} with size {} is outside the file ({} bytes)", r.offset, r.size,
                         file.size());
    h.update(file.subspan(r.offset, r.size));
  }
  return h.finish();
}

Result<Bytes> image_hash(const pe::Layout& layout, const pe::AuthenticodeRanges& ranges, HashAlg alg) {
  crypto::Hasher h(alg);
  for (const pe::Range& r : ranges.ranges)
    if (!layout.visit(r.offset, r.size, [&](ByteSpan d) { h.update(d); }))
      return input_error("hashed range at offset {:#x} with size {} is outside the file ({} bytes)", r.offset, r.size,
                         layout.size);
  return h.finish();
}

Result<Bytes> spc_indirect_data_content(HashAlg alg, ByteSpan image_digest) {
  Bytes bmp;
  for (char16_t c : kObsolete) {
    bmp.push_back(static_cast<uint8_t>(c >> 8));
    bmp.push_back(static_cast<uint8_t>(c));
  }
  // SpcLink.file [2] EXPLICIT SpcString.unicode [0] IMPLICIT BMPString
  Bytes link = der::tlv(der::kContextConstructed | 2, der::tlv(der::kContextPrimitive | 0, bmp));
  Bytes flags = der::tlv(der::kBitString, Bytes{0x00});  // empty BIT STRING
  Bytes pe_image_data = der::sequence(der::concat({flags, der::tlv(der::kContextConstructed | 0, link)}));
  Bytes data = der::sequence(der::concat({BS_TRY(der::oid(kOidSpcPeImageData)), pe_image_data}));
  Bytes alg_id = der::sequence(der::concat({BS_TRY(der::oid(oid_of(alg))), der::tlv(der::kNull, {})}));
  Bytes digest_info = der::sequence(der::concat({alg_id, der::tlv(der::kOctetString, image_digest)}));
  return der::sequence(der::concat({data, digest_info}));
}

Result<IndirectData> parse_spc_indirect_data_content(ByteSpan bytes) {
  IndirectData out;
  der::Reader top(bytes);
  der::Element idc = BS_TRY(top.expect(der::kSequence, "SpcIndirectDataContent"));
  der::Reader r(idc.value);
  der::Element data = BS_TRY(r.expect(der::kSequence, "SpcIndirectDataContent.data"));
  der::Reader dr(data.value);
  der::Element type = BS_TRY(dr.expect(der::kOid, "SpcAttributeTypeAndOptionalValue.type"));
  out.data_type_oid = BS_TRY(der::oid_to_string(type.value));
  der::Element digest_info = BS_TRY(r.expect(der::kSequence, "SpcIndirectDataContent.messageDigest"));
  der::Reader di(digest_info.value);
  der::Element alg = BS_TRY(di.expect(der::kSequence, "DigestInfo.digestAlgorithm"));
  der::Reader ar(alg.value);
  der::Element alg_oid = BS_TRY(ar.expect(der::kOid, "DigestInfo.digestAlgorithm.algorithm"));
  out.digest_oid = BS_TRY(der::oid_to_string(alg_oid.value));
  for (auto& h : kHashOids)
    if (h.oid == out.digest_oid) out.digest_alg = h.alg;
  der::Element dig = BS_TRY(di.expect(der::kOctetString, "DigestInfo.digest"));
  out.digest.assign(dig.value.begin(), dig.value.end());
  return out;
}

namespace {

// Removes the certificate table from `file` (in place) and clears the
// security directory; `table` receives the old table bytes.
Status strip_table(Bytes& file, const pe::Image& img, Bytes* table) {
  pe::DataDirectory dir = img.certificate_table();
  if (dir.Size != 0) {
    if (uint64_t{dir.VirtualAddress} + dir.Size != file.size())
      return unsupported_error("the certificate table (offset {:#x}, {} bytes) is not at the end of the file ({} bytes)",
                               dir.VirtualAddress, dir.Size, file.size());
    if (table) table->assign(file.begin() + dir.VirtualAddress, file.end());
    file.resize(dir.VirtualAddress);
  }
  if (!img.security_dir_offset)
    return input_error("the image has no security data directory (NumberOfRvaAndSizes {})", img.NumberOfRvaAndSizes);
  put_u32(file, *img.security_dir_offset, 0);
  put_u32(file, *img.security_dir_offset + 4, 0);
  return {};
}

}  // namespace

Result<PreparedImage> prepare_signing(pe::Layout layout, bool append) {
  PreparedImage p;
  pe::Image img = BS_TRY(pe::parse_headers(layout.headers, layout.size));
  if (!img.security_dir_offset)
    return input_error("the image has no security data directory (NumberOfRvaAndSizes {})", img.NumberOfRvaAndSizes);
  pe::DataDirectory dir = img.certificate_table();
  if (dir.Size != 0) {
    if (uint64_t{dir.VirtualAddress} + dir.Size != layout.size)
      return unsupported_error("the certificate table (offset {:#x}, {} bytes) is not at the end of the file ({} bytes)",
                               dir.VirtualAddress, dir.Size, layout.size);
    if (append) {
      p.old_table = layout.read(dir.VirtualAddress, dir.Size);
      BS_TRY(certificate_entries(p.old_table, dir.VirtualAddress));  // must be well-formed
    }
    layout.truncate(dir.VirtualAddress);
  }
  put_u32(layout.headers, *img.security_dir_offset, 0);
  put_u32(layout.headers, *img.security_dir_offset + 4, 0);
  // The table starts 8-byte aligned; the zero padding before it is hashed
  // (as trailing data), exactly as sbsign does.
  layout.size = round_up(layout.size, kWinCertificateAlignment);
  pe::Image stripped = BS_TRY(pe::parse_headers(layout.headers, layout.size));
  p.ranges = BS_TRY(pe::authenticode_ranges(stripped));
  p.layout = std::move(layout);
  return p;
}

namespace {

crypto::Pkcs7SignOptions pkcs7_options(const SignOptions& options) {
  crypto::Pkcs7SignOptions po;
  po.signing_time = options.signing_time;
  po.extra_certificates = options.extra_certificates;
  return po;
}

// Appends the WIN_CERTIFICATE holding `p7` and patches the headers.
Result<pe::Layout> append_signature(PreparedImage p, ByteSpan p7, std::optional<uint64_t> body_word_sum) {
  ByteWriter entry;
  entry.bytes(p.old_table);
  entry.u32(static_cast<uint32_t>(kWinCertificateHeaderSize + p7.size()));
  entry.u16(kWinCertRevision);
  entry.u16(kWinCertTypePkcsSignedData);
  entry.bytes(p7);
  entry.pad_to(kWinCertificateAlignment);
  pe::Layout out = std::move(p.layout);
  uint64_t body = out.headers.size();
  uint64_t table_offset = out.size;
  uint64_t sum = body_word_sum ? *body_word_sum : out.word_sum(body, table_offset - body);
  uint64_t table_size = entry.buffer().size();
  if (table_offset + table_size > UINT32_MAX) return input_error("signed image would exceed 4 GiB");
  sum += pe::checksum_word_sum(entry.buffer(), table_offset);
  out.append(table_offset, entry.take());
  put_u32(out.headers, p.ranges.security_dir_offset, static_cast<uint32_t>(table_offset));
  put_u32(out.headers, p.ranges.security_dir_offset + 4, static_cast<uint32_t>(table_size));
  out.checksum_offset = p.ranges.checksum_offset;
  out.set_checksum(sum);
  return out;
}

}  // namespace

Result<pe::Layout> finish_signing(PreparedImage p, ByteSpan sha256_image_hash, const crypto::Signer& signer,
                                  const crypto::Certificate& cert, const SignOptions& options,
                                  std::optional<uint64_t> body_word_sum) {
  Bytes idc = BS_TRY(spc_indirect_data_content(HashAlg::kSha256, sha256_image_hash));
  Bytes p7 = BS_TRY(crypto::pkcs7_sign_embedded(kOidSpcIndirectDataContent, idc, signer, cert, pkcs7_options(options)));
  return append_signature(std::move(p), p7, body_word_sum);
}

Result<Bytes> offline_signed_data(ByteSpan sha256_image_hash, const crypto::Certificate& cert,
                                  const SignOptions& options) {
  Bytes idc = BS_TRY(spc_indirect_data_content(HashAlg::kSha256, sha256_image_hash));
  return crypto::pkcs7_embedded_signed_attributes(kOidSpcIndirectDataContent, idc, cert, pkcs7_options(options));
}

Result<pe::Layout> finish_signing_offline(PreparedImage p, ByteSpan sha256_image_hash, const crypto::Certificate& cert,
                                          const SignOptions& options, ByteSpan signed_data, ByteSpan signature,
                                          std::optional<uint64_t> body_word_sum) {
  Bytes idc = BS_TRY(spc_indirect_data_content(HashAlg::kSha256, sha256_image_hash));
  Bytes p7 = BS_TRY(crypto::pkcs7_assemble_embedded(kOidSpcIndirectDataContent, idc, cert, pkcs7_options(options),
                                                    signed_data, signature));
  return append_signature(std::move(p), p7, body_word_sum);
}

Result<pe::Layout> attach_pkcs7(PreparedImage p, ByteSpan p7, const std::vector<crypto::Certificate>& trusted,
                                std::optional<uint64_t> body_word_sum) {
  crypto::Pkcs7Info info = BS_TRY_CTX(crypto::pkcs7_parse(p7), "not a DER PKCS#7 SignedData");
  if (info.content_type_oid != kOidSpcIndirectDataContent)
    return input_error("the PKCS#7 content type {} is not SpcIndirectDataContent: not an Authenticode signature",
                       info.content_type_oid);
  if (info.signers.size() != 1)
    return input_error("the PKCS#7 SignedData has {} signers, an Authenticode signature has one", info.signers.size());
  const crypto::Pkcs7SignerInfo& signer = info.signers[0];
  if (!signer.certificate)
    return input_error("the PKCS#7 SignedData does not embed its signer's certificate (issuer '{}', serial {})",
                       signer.issuer, signer.serial_hex);
  IndirectData idc = BS_TRY_CTX(parse_spc_indirect_data_content(info.content_der), "SpcIndirectDataContent");
  if (!idc.digest_alg) return unsupported_error("the signature's image hash algorithm {} is not supported", idc.digest_oid);
  Bytes h = BS_TRY(image_hash(p.layout, p.ranges, *idc.digest_alg));
  if (h != idc.digest)
    return input_error("the signature is for another image: it covers the {} Authenticode hash {}, this image's is {}",
                       crypto::hash_name(*idc.digest_alg), to_hex(idc.digest), to_hex(h));
  ByteSpan octets = BS_TRY(crypto::der_content_octets(info.content_der));
  std::vector<crypto::Certificate> anchors = trusted;
  if (anchors.empty()) anchors.push_back(*signer.certificate);  // the signature itself, no chain asked for
  // A signature that does not fit this image is bad input to `sign` (exit 3), as
  // for --signed-data-signature; pkcs7_verify's own kind is a failed check.
  if (Status st = crypto::pkcs7_verify(p7, octets, anchors); !st.ok())
    return input_error("signer '{}': {}", signer.certificate->subject(), st.error().message());
  return append_signature(std::move(p), p7, body_word_sum);
}

Result<pe::Layout> sign_layout(pe::Layout layout, const crypto::Signer& signer, const crypto::Certificate& cert,
                               const SignOptions& options) {
  PreparedImage p = BS_TRY(prepare_signing(std::move(layout), options.append));
  Bytes hash = BS_TRY(image_hash(p.layout, p.ranges, HashAlg::kSha256));
  return finish_signing(std::move(p), hash, signer, cert, options);
}

Result<Bytes> sign(ByteSpan file, const crypto::Signer& signer, const crypto::Certificate& cert,
                   const SignOptions& options) {
  pe::Image img = BS_TRY(pe::parse(file));
  pe::Layout l = BS_TRY(sign_layout(pe::Layout::of_file(file, img.SizeOfHeaders), signer, cert, options));
  return l.materialize();
}

Result<Bytes> sign(Bytes file, const crypto::Signer& signer, const crypto::Certificate& cert,
                   const SignOptions& options) {
  pe::Image img = BS_TRY(pe::parse(file));
  pe::Layout l = BS_TRY(sign_layout(pe::Layout::of_file(file, img.SizeOfHeaders), signer, cert, options));
  // Reuse the buffer: between the headers and the new table the signed image
  // is `file` cut at the old table or padded to 8 bytes. The patched headers
  // and the table (last piece) are the layout's own bytes, not views of `file`.
  const pe::Layout::Piece& table = l.pieces.back();
  file.resize(table.offset, 0);
  std::copy(l.headers.begin(), l.headers.end(), file.begin());
  file.insert(file.end(), table.data.begin(), table.data.end());
  return file;
}

Result<Bytes> unsign(ByteSpan file) {
  pe::Image img = BS_TRY(pe::parse(file));
  if (!img.has_certificate_table()) return input_error("the image is not signed (no certificate table)");
  Bytes out(file.begin(), file.end());
  BS_TRY(strip_table(out, img, nullptr));
  put_u32(out, img.checksum_offset, pe::compute_checksum(out, img.checksum_offset));
  return out;
}

std::string VerifyReport::failure() const {
  if (ok()) return "";
  if (!signed_image) return "no signature: the image has no certificate table";
  if (signatures.empty()) return "no signature: the certificate table is empty";
  if (signatures.size() == 1) return signatures[0].problem;
  std::string out;
  for (auto& s : signatures) out += fmt::format("{}signature {}: {}", out.empty() ? "" : "; ", s.index + 1, s.problem);
  return out;
}

Result<VerifyReport> verify(ByteSpan file, const std::vector<crypto::Certificate>& trusted) {
  VerifyReport rep;
  pe::Image img = BS_TRY(pe::parse(file));
  pe::AuthenticodeRanges ranges = BS_TRY(pe::authenticode_ranges(img));
  std::vector<WinCertificate> entries = BS_TRY(certificate_table(file, img));
  rep.signed_image = img.has_certificate_table();
  std::map<HashAlg, Bytes> hashes;
  for (size_t i = 0; i < entries.size(); i++) {
    const WinCertificate& w = entries[i];
    SignatureCheck c;
    c.index = i;
    auto fail = [&](std::string why) {
      c.problem = std::move(why);
      rep.signatures.push_back(c);
    };
    if (w.wRevision != kWinCertRevision || w.wCertificateType != kWinCertTypePkcsSignedData) {
      fail(fmt::format("malformed: WIN_CERTIFICATE revision 0x{:04x} type 0x{:04x} (expected 0x0200, PKCS_SIGNED_DATA)",
                       w.wRevision, w.wCertificateType));
      continue;
    }
    auto info = crypto::pkcs7_parse(w.bCertificate);
    if (!info.ok()) {
      fail("malformed: " + info.error().message());
      continue;
    }
    if (!info->signers.empty()) {
      auto& s = info->signers[0];
      c.issuer = s.issuer;
      c.signer = s.certificate ? s.certificate->subject() : "";
      c.digest_algorithm = s.digest_algorithm;
      c.signing_time = s.signing_time;
    }
    if (info->content_type_oid != kOidSpcIndirectDataContent) {
      fail(fmt::format("malformed: PKCS#7 content type {} is not SpcIndirectDataContent", info->content_type_oid));
      continue;
    }
    auto idc = parse_spc_indirect_data_content(info->content_der);
    if (!idc.ok()) {
      fail("malformed: SpcIndirectDataContent: " + idc.error().message());
      continue;
    }
    if (!idc->digest_alg) {
      fail(fmt::format("unsupported image hash algorithm {}", idc->digest_oid));
      continue;
    }
    if (!hashes.count(*idc->digest_alg)) hashes[*idc->digest_alg] = BS_TRY(image_hash(file, ranges, *idc->digest_alg));
    const Bytes& h = hashes[*idc->digest_alg];
    if (h != idc->digest) {
      fail(fmt::format("hash mismatch: the image's {} Authenticode hash is {}, the signature covers {}",
                       crypto::hash_name(*idc->digest_alg), to_hex(h), to_hex(idc->digest)));
      continue;
    }
    c.hash_ok = true;
    ByteSpan octets = BS_TRY(crypto::der_content_octets(info->content_der));
    Status st = crypto::pkcs7_verify(w.bCertificate, octets, trusted);
    if (!st.ok()) {
      fail(st.error().message());
      continue;
    }
    c.ok = true;
    rep.signatures.push_back(c);
  }
  return rep;
}

Status verify_image(ByteSpan file, const std::vector<crypto::Certificate>& trusted) {
  VerifyReport rep = BS_TRY(verify(file, trusted));
  if (!rep.ok()) return check_error("{}", rep.failure());
  return {};
}

}  // namespace bootseal::authenticode
