#include "efivar/esl.h"

#include "base/hex.h"

namespace bootseal::efivar {

Result<std::vector<SignatureList>> parse_signature_lists(ByteSpan data) {
  std::vector<SignatureList> out;
  ByteReader r(data);
  while (r.remaining() > 0) {
    size_t start = r.pos();
    if (out.size() >= kMaxSignatureLists) return input_error("more than {} signature lists", kMaxSignatureLists);
    auto ctx = [&](std::string_view what) { return fmt::format("EFI_SIGNATURE_LIST at offset {}: {}", start, what); };
    if (r.remaining() < kSignatureListHeaderSize)
      return input_error("{}", ctx(fmt::format("truncated header ({} bytes left, need 28)", r.remaining())));
    SignatureList l;
    l.SignatureType = Guid::from_bytes(BS_TRY(r.bytes(kGuidSize, "SignatureType")));
    uint32_t list_size = BS_TRY(r.u32("SignatureListSize"));
    uint32_t header_size = BS_TRY(r.u32("SignatureHeaderSize"));
    l.SignatureSize = BS_TRY(r.u32("SignatureSize"));
    if (list_size < kSignatureListHeaderSize || list_size > data.size() - start)
      return input_error("{}", ctx(fmt::format("SignatureListSize {} is outside the {} bytes left", list_size,
                                               data.size() - start)));
    uint64_t body = list_size - kSignatureListHeaderSize;
    if (header_size > body)
      return input_error("{}", ctx(fmt::format("SignatureHeaderSize {} exceeds the list", header_size)));
    ByteSpan hdr = BS_TRY(r.bytes(header_size, "SignatureHeader"));
    l.SignatureHeader.assign(hdr.begin(), hdr.end());
    body -= header_size;
    if (l.SignatureSize < kGuidSize)
      return input_error("{}", ctx(fmt::format("SignatureSize {} is smaller than the owner GUID", l.SignatureSize)));
    if (body % l.SignatureSize != 0)
      return input_error("{}", ctx(fmt::format("{} bytes of signatures is not a multiple of SignatureSize {}", body,
                                               l.SignatureSize)));
    uint64_t count = body / l.SignatureSize;
    if (count > kMaxSignaturesPerList) return input_error("{}", ctx("too many signatures"));
    for (uint64_t i = 0; i < count; i++) {
      SignatureEntry s;
      s.SignatureOwner = Guid::from_bytes(BS_TRY(r.bytes(kGuidSize, "SignatureOwner")));
      ByteSpan d = BS_TRY(r.bytes(l.SignatureSize - kGuidSize, "SignatureData"));
      s.SignatureData.assign(d.begin(), d.end());
      l.Signatures.push_back(std::move(s));
    }
    out.push_back(std::move(l));
  }
  return out;
}

Result<Bytes> write_signature_list(const SignatureList& l) {
  if (l.SignatureSize < kGuidSize) return input_error("SignatureSize {} is too small", l.SignatureSize);
  uint64_t size = kSignatureListHeaderSize + l.SignatureHeader.size() +
                  static_cast<uint64_t>(l.SignatureSize) * l.Signatures.size();
  if (size > UINT32_MAX) return input_error("signature list of {} bytes is too large", size);
  ByteWriter w;
  w.bytes(l.SignatureType.bytes);
  w.u32(static_cast<uint32_t>(size));
  w.u32(static_cast<uint32_t>(l.SignatureHeader.size()));
  w.u32(l.SignatureSize);
  w.bytes(l.SignatureHeader);
  for (const SignatureEntry& s : l.Signatures) {
    if (s.SignatureData.size() != l.SignatureSize - kGuidSize)
      return input_error("signature data of {} bytes does not fit SignatureSize {}", s.SignatureData.size(),
                         l.SignatureSize);
    w.bytes(s.SignatureOwner.bytes);
    w.bytes(s.SignatureData);
  }
  return w.take();
}

Result<Bytes> write_signature_lists(const std::vector<SignatureList>& lists) {
  Bytes out;
  for (const SignatureList& l : lists) {
    Bytes b = BS_TRY(write_signature_list(l));
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

SignatureList x509_signature_list(const Guid& owner, ByteSpan cert_der) {
  SignatureList l;
  l.SignatureType = kEfiCertX509;
  l.SignatureSize = static_cast<uint32_t>(kGuidSize + cert_der.size());
  l.Signatures.push_back({owner, Bytes(cert_der.begin(), cert_der.end())});
  return l;
}

static std::string type_name(const Guid& g) {
  if (g == kEfiCertX509) return "EFI_CERT_X509_GUID";
  if (g == kEfiCertSha256) return "EFI_CERT_SHA256_GUID";
  return g.to_string();
}

std::string dump_signature_lists(const std::vector<SignatureList>& lists) {
  std::string out;
  size_t off = 0;
  for (size_t i = 0; i < lists.size(); i++) {
    const SignatureList& l = lists[i];
    size_t size = kSignatureListHeaderSize + l.SignatureHeader.size() + l.SignatureSize * l.Signatures.size();
    out += fmt::format("{} list[{}].SignatureType = {}\n", off, i, type_name(l.SignatureType));
    out += fmt::format("{} list[{}].SignatureListSize = {}\n", off + 16, i, size);
    out += fmt::format("{} list[{}].SignatureHeaderSize = {}\n", off + 20, i, l.SignatureHeader.size());
    out += fmt::format("{} list[{}].SignatureSize = {}\n", off + 24, i, l.SignatureSize);
    size_t so = off + kSignatureListHeaderSize + l.SignatureHeader.size();
    for (size_t j = 0; j < l.Signatures.size(); j++) {
      out += fmt::format("{} list[{}].Signatures[{}].SignatureOwner = {}\n", so, i, j,
                         l.Signatures[j].SignatureOwner.to_string());
      out += fmt::format("{} list[{}].Signatures[{}].SignatureData = {} bytes\n", so + 16, i, j,
                         l.Signatures[j].SignatureData.size());
      so += l.SignatureSize;
    }
    off += size;
  }
  return out;
}

}  // namespace bootseal::efivar
