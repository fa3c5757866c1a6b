#include "crypto/pkcs7.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <functional>

#include "crypto/der.h"
#include "crypto/openssl_util.h"

namespace bootseal::crypto {

namespace {

using SignerInfoPtr = std::unique_ptr<PKCS7_SIGNER_INFO, OsslDeleter<PKCS7_SIGNER_INFO_free>>;
using AlgorStackPtr = std::unique_ptr<STACK_OF(X509_ALGOR), OsslDeleter<[](STACK_OF(X509_ALGOR)* s) {
                                        sk_X509_ALGOR_pop_free(s, X509_ALGOR_free);
                                      }>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslDeleter<[](STACK_OF(X509)* s) { sk_X509_free(s); }>>;

Bytes i2d_p7(PKCS7* p7) {
  int n = i2d_PKCS7(p7, nullptr);
  if (n <= 0) return {};
  Bytes out(static_cast<size_t>(n));
  uint8_t* p = out.data();
  i2d_PKCS7(p7, &p);
  return out;
}

// The SignedData shell with one SignerInfo for `cert`. The digest and
// signature algorithm identifiers are set up by OpenSSL from the certificate's
// public key (so they are exactly what PKCS7_sign would write); the private
// key is never needed: si->pkey is cleared and the signature is set later.
// `signer` is null for offline signing (the signature comes later, from elsewhere).
Result<PKCS7_SIGNER_INFO*> add_signer(PKCS7* p7, const Signer* signer, const Certificate& cert,
                                     const Pkcs7SignOptions& o) {
  X509* x = x509_of(cert);
  if (signer && signer->public_key_der() != cert.public_key_der())
    return input_error("{} does not match the certificate '{}'", signer->description(), cert.subject());
  SignerInfoPtr si(PKCS7_SIGNER_INFO_new());
  if (!si || !PKCS7_SIGNER_INFO_set(si.get(), x, X509_get0_pubkey(x), evp_md(o.digest)))
    return internal_error("PKCS#7 signer info: {}", openssl_error());
  EVP_PKEY_free(si->pkey);
  si->pkey = nullptr;
  PKCS7_SIGNER_INFO* raw = si.get();
  if (!PKCS7_add_signer(p7, si.release())) return internal_error("PKCS#7 add signer: {}", openssl_error());
  if (!PKCS7_add_certificate(p7, x)) return internal_error("PKCS#7 add certificate: {}", openssl_error());
  for (const Certificate& c : o.extra_certificates)
    if (!PKCS7_add_certificate(p7, x509_of(c))) return internal_error("PKCS#7 add certificate: {}", openssl_error());
  return raw;
}

Status set_signature(PKCS7_SIGNER_INFO* si, Bytes sig) {
  if (!ASN1_STRING_set(si->enc_digest, sig.data(), static_cast<int>(sig.size())))
    return internal_error("PKCS#7 signature: {}", openssl_error());
  return {};
}

// The authenticated attributes, added to the signer info.
Status add_attributes(PKCS7_SIGNER_INFO* si, ASN1_OBJECT* content_type, ByteSpan content_digest,
                      const Pkcs7SignOptions& o) {
  if (!PKCS7_add_attrib_content_type(si, content_type))
    return internal_error("PKCS#7 contentType: {}", openssl_error());
  if (o.smime_capabilities) {
    // The list OpenSSL's PKCS7_sign_add_signer adds (ciphers OpenSSL 3 knows, in its order).
    AlgorStackPtr smcap(sk_X509_ALGOR_new_null());
    const std::pair<int, int> caps[] = {{NID_aes_256_cbc, -1}, {NID_aes_192_cbc, -1}, {NID_aes_128_cbc, -1},
                                        {NID_des_ede3_cbc, -1}, {NID_rc2_cbc, 128},      {NID_rc2_cbc, 64},
                                        {NID_des_cbc, -1},      {NID_rc2_cbc, 40}};
    for (auto [nid, arg] : caps)
      if (!PKCS7_simple_smimecap(smcap.get(), nid, arg)) return internal_error("PKCS#7 smimecap: {}", openssl_error());
    if (!PKCS7_add_attrib_smimecap(si, smcap.get())) return internal_error("PKCS#7 smimecap: {}", openssl_error());
  }
  if (o.signing_time) {
    ASN1_TIME* t = ASN1_TIME_set(nullptr, static_cast<time_t>(*o.signing_time));
    if (!t || !PKCS7_add0_attrib_signing_time(si, t)) return internal_error("PKCS#7 signingTime: {}", openssl_error());
  }
  if (!PKCS7_add1_attrib_digest(si, content_digest.data(), static_cast<int>(content_digest.size())))
    return internal_error("PKCS#7 messageDigest: {}", openssl_error());
  return {};
}

// The DER of the signer info's authenticated attributes (SET OF): what the signature covers.
Result<Bytes> encode_attributes(PKCS7_SIGNER_INFO* si) {
  uint8_t* abuf = nullptr;
  int alen = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(si->auth_attr), &abuf, ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
  if (alen <= 0) return internal_error("PKCS#7 encoding attributes: {}", openssl_error());
  Bytes attrs(abuf, abuf + alen);
  OPENSSL_free(abuf);
  return attrs;
}

// The authenticated attributes and the signature over their DER (SET OF).
Status sign_attributes(PKCS7_SIGNER_INFO* si, ASN1_OBJECT* content_type, ByteSpan content_digest,
                       const Signer& signer, const Pkcs7SignOptions& o) {
  BS_TRY(add_attributes(si, content_type, content_digest, o));
  Bytes attrs = BS_TRY(encode_attributes(si));
  Bytes sig = BS_TRY(signer.sign(o.digest, attrs));
  return set_signature(si, std::move(sig));
}

}  // namespace

Result<ByteSpan> der_content_octets(ByteSpan element) {
  der::Reader r(element);
  der::Element e = BS_TRY(r.next("content"));
  if (!r.done()) return input_error("ASN.1 content: trailing bytes after the element");
  return e.value;
}

Result<Bytes> pkcs7_strip_content_info(ByteSpan content_info) {
  der::Reader outer(content_info);
  der::Element ci = BS_TRY(outer.expect(der::kSequence, "ContentInfo"));
  der::Reader r(ci.value);
  der::Element type = BS_TRY(r.expect(der::kOid, "ContentInfo.contentType"));
  if (BS_TRY(der::oid_to_string(type.value)) != kOidPkcs7SignedData)
    return input_error("ContentInfo does not hold SignedData");
  der::Element wrapped = BS_TRY(r.expect(der::kContextConstructed, "ContentInfo.content"));
  der::Reader inner(wrapped.value);
  der::Element sd = BS_TRY(inner.expect(der::kSequence, "SignedData"));
  return Bytes(sd.whole.begin(), sd.whole.end());
}

Result<Bytes> pkcs7_sign_detached(ByteSpan data, const Signer& signer, const Certificate& cert,
                                  const Pkcs7SignOptions& o) {
  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || !PKCS7_set_type(p7.get(), NID_pkcs7_signed) || !PKCS7_content_new(p7.get(), NID_pkcs7_data))
    return internal_error("PKCS#7 new: {}", openssl_error());
  PKCS7_SIGNER_INFO* si = BS_TRY(add_signer(p7.get(), &signer, cert, o));
  PKCS7_set_detached(p7.get(), 1);
  Bytes dig = digest(o.digest, data);
  if (o.signed_attributes) {
    BS_TRY(sign_attributes(si, nullptr, dig, signer, o));
  } else {
    BS_TRY(set_signature(si, BS_TRY(signer.sign_digest(o.digest, dig))));
  }
  Bytes out = i2d_p7(p7.get());
  if (out.empty()) return internal_error("PKCS#7 encoding: {}", openssl_error());
  return out;
}

namespace {

// How the signer info of an embedded-content SignedData gets its attributes and signature.
using SignerStep = std::function<Status(PKCS7_SIGNER_INFO* si, ASN1_OBJECT* content_type, ByteSpan content_digest)>;

// The SignedData embedding `content_der`, its one signer info filled in by `step`;
// returns the DER, or with `attributes_only` the DER of the signed attributes.
Result<Bytes> build_embedded(std::string_view content_type_oid, ByteSpan content_der, const Signer* signer,
                             const Certificate& cert, const Pkcs7SignOptions& o, const SignerStep& step,
                             bool attributes_only) {
  if (!o.signed_attributes) return internal_error("embedded PKCS#7 content needs signed attributes");
  ByteSpan octets = BS_TRY(der_content_octets(content_der));
  der::Reader r(content_der);
  if (BS_TRY(r.next("content")).tag != der::kSequence) return internal_error("embedded content must be a SEQUENCE");
  std::string oid(content_type_oid);
  ASN1_OBJECT* obj = OBJ_txt2obj(oid.c_str(), 1);
  if (!obj) return internal_error("invalid OID {}", oid);
  std::unique_ptr<ASN1_OBJECT, OsslDeleter<ASN1_OBJECT_free>> obj_owner(obj);

  Pkcs7Ptr p7(PKCS7_new());
  if (!p7 || !PKCS7_set_type(p7.get(), NID_pkcs7_signed)) return internal_error("PKCS#7 new: {}", openssl_error());
  PKCS7_SIGNER_INFO* si = BS_TRY(add_signer(p7.get(), signer, cert, o));
  BS_TRY(step(si, obj, digest(o.digest, octets)));
  if (attributes_only) return encode_attributes(si);

  // contentInfo { contentType, [0] EXPLICIT SEQUENCE } as sbsign builds it.
  Pkcs7Ptr inner(PKCS7_new());
  ASN1_STRING* seq = ASN1_STRING_new();
  ASN1_STRING_set(seq, content_der.data(), static_cast<int>(content_der.size()));
  ASN1_TYPE* t = ASN1_TYPE_new();
  ASN1_TYPE_set(t, V_ASN1_SEQUENCE, seq);
  inner->type = obj_owner.release();
  inner->d.other = t;
  if (!PKCS7_set_content(p7.get(), inner.release())) return internal_error("PKCS#7 content: {}", openssl_error());
  Bytes out = i2d_p7(p7.get());
  if (out.empty()) return internal_error("PKCS#7 encoding: {}", openssl_error());
  return out;
}

using AttrStackPtr = std::unique_ptr<STACK_OF(X509_ATTRIBUTE), OsslDeleter<[](STACK_OF(X509_ATTRIBUTE)* s) {
                                       sk_X509_ATTRIBUTE_pop_free(s, X509_ATTRIBUTE_free);
                                     }>>;

}  // namespace

Result<Bytes> pkcs7_sign_embedded(std::string_view content_type_oid, ByteSpan content_der, const Signer& signer,
                                  const Certificate& cert, const Pkcs7SignOptions& o) {
  return build_embedded(
      content_type_oid, content_der, &signer, cert, o,
      [&](PKCS7_SIGNER_INFO* si, ASN1_OBJECT* type, ByteSpan dig) {
        return sign_attributes(si, OBJ_dup(type), dig, signer, o);
      },
      false);
}

Result<Bytes> pkcs7_embedded_signed_attributes(std::string_view content_type_oid, ByteSpan content_der,
                                               const Certificate& cert, const Pkcs7SignOptions& o) {
  return build_embedded(
      content_type_oid, content_der, nullptr, cert, o,
      [&](PKCS7_SIGNER_INFO* si, ASN1_OBJECT* type, ByteSpan dig) { return add_attributes(si, OBJ_dup(type), dig, o); },
      true);
}

Result<Bytes> pkcs7_assemble_embedded(std::string_view content_type_oid, ByteSpan content_der, const Certificate& cert,
                                      const Pkcs7SignOptions& o, ByteSpan attrs_der, ByteSpan signature) {
  if (attrs_der.size() > INT32_MAX || signature.size() > INT32_MAX) return input_error("signed data: too large");
  if (signature.empty()) return input_error("the signature is empty");
  return build_embedded(
      content_type_oid, content_der, nullptr, cert, o,
      [&](PKCS7_SIGNER_INFO* si, ASN1_OBJECT* type, ByteSpan dig) -> Status {
        const uint8_t* p = attrs_der.data();
        auto* parsed = reinterpret_cast<STACK_OF(X509_ATTRIBUTE)*>(
            ASN1_item_d2i(nullptr, &p, static_cast<long>(attrs_der.size()), ASN1_ITEM_rptr(PKCS7_ATTR_SIGN)));
        AttrStackPtr owner(parsed);
        if (!parsed || p != attrs_der.data() + attrs_der.size()) {
          ERR_clear_error();
          return input_error("the signed data is not a DER set of PKCS#7 signed attributes");
        }
        sk_X509_ATTRIBUTE_pop_free(si->auth_attr, X509_ATTRIBUTE_free);
        si->auth_attr = owner.release();
        if (BS_TRY(encode_attributes(si)) != Bytes(attrs_der.begin(), attrs_der.end()))
          return input_error("the signed attributes are not in DER (canonical) form");
        ASN1_TYPE* ct = PKCS7_get_signed_attribute(si, NID_pkcs9_contentType);
        if (!ct || ct->type != V_ASN1_OBJECT || OBJ_cmp(ct->value.object, type) != 0)
          return input_error("the signed attributes' contentType is not {}", content_type_oid);
        ASN1_OCTET_STRING* md = PKCS7_digest_from_attributes(si->auth_attr);
        if (!md || Bytes(ASN1_STRING_get0_data(md), ASN1_STRING_get0_data(md) + ASN1_STRING_length(md)) !=
                       Bytes(dig.begin(), dig.end()))
          return input_error("the signed attributes' messageDigest is not this image's: they were prepared for "
                             "another image (or before it changed)");
        if (!BS_TRY(verify_signature(cert.public_key_der(), o.digest, attrs_der, signature)))
          return input_error("the signature does not verify over the signed data with the key of certificate '{}'",
                             cert.subject());
        return set_signature(si, Bytes(signature.begin(), signature.end()));
      },
      false);
}

namespace {

// d2i of a ContentInfo, or of a bare SignedData wrapped into one.
Result<Pkcs7Ptr> parse_p7(ByteSpan der_bytes) {
  if (der_bytes.size() > INT32_MAX) return input_error("PKCS#7: too large");
  const uint8_t* p = der_bytes.data();
  PKCS7* p7 = d2i_PKCS7(nullptr, &p, static_cast<long>(der_bytes.size()));
  if (!p7) {
    ERR_clear_error();
    Bytes oid = BS_TRY(der::oid(kOidPkcs7SignedData));
    Bytes wrapped = der::sequence(der::concat({oid, der::tlv(der::kContextConstructed, der_bytes)}));
    p = wrapped.data();
    p7 = d2i_PKCS7(nullptr, &p, static_cast<long>(wrapped.size()));
    if (!p7) return input_error("not a DER PKCS#7 SignedData structure ({})", openssl_error());
  }
  Pkcs7Ptr owner(p7);
  if (!PKCS7_type_is_signed(p7) || !p7->d.sign || !p7->d.sign->contents)
    return input_error("PKCS#7 structure is not SignedData");
  return owner;
}

std::string oid_text(const ASN1_OBJECT* o) {
  char buf[128];
  OBJ_obj2txt(buf, sizeof(buf), o, 1);
  return buf;
}

std::string name_line(const X509_NAME* n) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* d = nullptr;
  long len = BIO_get_mem_data(bio.get(), &d);
  return std::string(d, static_cast<size_t>(len));
}

Result<Certificate> cert_of(X509* x) {
  int n = i2d_X509(x, nullptr);
  if (n <= 0) return input_error("unencodable certificate");
  Bytes d(static_cast<size_t>(n));
  uint8_t* p = d.data();
  i2d_X509(x, &p);
  return Certificate::from_der(d, "embedded certificate");
}

}  // namespace

Result<Pkcs7Info> pkcs7_parse(ByteSpan der_bytes) {
  Pkcs7Ptr p7 = BS_TRY(parse_p7(der_bytes));
  Pkcs7Info info;
  PKCS7* c = p7->d.sign->contents;
  info.content_type_oid = oid_text(c->type);
  if (!PKCS7_type_is_data(c) && c->d.other) {
    ASN1_TYPE* t = c->d.other;
    if (t->type == V_ASN1_SEQUENCE && t->value.sequence) {
      const ASN1_STRING* s = t->value.sequence;
      info.content_der.assign(ASN1_STRING_get0_data(s), ASN1_STRING_get0_data(s) + ASN1_STRING_length(s));
    } else {
      int n = i2d_ASN1_TYPE(t, nullptr);
      if (n > 0) {
        info.content_der.resize(static_cast<size_t>(n));
        uint8_t* p = info.content_der.data();
        i2d_ASN1_TYPE(t, &p);
      }
    }
  } else if (PKCS7_type_is_data(c) && c->d.data) {
    const ASN1_OCTET_STRING* s = c->d.data;
    info.content_der.assign(ASN1_STRING_get0_data(s), ASN1_STRING_get0_data(s) + ASN1_STRING_length(s));
  }
  STACK_OF(X509)* certs = p7->d.sign->cert;
  for (int i = 0; i < sk_X509_num(certs); i++) info.certificates.push_back(BS_TRY(cert_of(sk_X509_value(certs, i))));
  STACK_OF(PKCS7_SIGNER_INFO)* sis = PKCS7_get_signer_info(p7.get());
  for (int i = 0; i < sk_PKCS7_SIGNER_INFO_num(sis); i++) {
    PKCS7_SIGNER_INFO* si = sk_PKCS7_SIGNER_INFO_value(sis, i);
    Pkcs7SignerInfo s;
    s.issuer = name_line(si->issuer_and_serial->issuer);
    BIGNUM* bn = ASN1_INTEGER_to_BN(si->issuer_and_serial->serial, nullptr);
    char* hex = bn ? BN_bn2hex(bn) : nullptr;
    s.serial_hex = hex ? hex : "";
    OPENSSL_free(hex);
    BN_free(bn);
    s.digest_algorithm = OBJ_nid2sn(OBJ_obj2nid(si->digest_alg->algorithm));
    X509* signer = X509_find_by_issuer_and_serial(certs, si->issuer_and_serial->issuer, si->issuer_and_serial->serial);
    if (signer) s.certificate = BS_TRY(cert_of(signer));
    ASN1_TYPE* st = PKCS7_get_signed_attribute(si, NID_pkcs9_signingTime);
    if (st && (st->type == V_ASN1_UTCTIME || st->type == V_ASN1_GENERALIZEDTIME)) {
      struct tm tm {};
      if (ASN1_TIME_to_tm(st->value.utctime, &tm) == 1) s.signing_time = static_cast<int64_t>(timegm(&tm));
    }
    info.signers.push_back(std::move(s));
  }
  ERR_clear_error();
  return info;
}

Status pkcs7_verify(ByteSpan der_bytes, ByteSpan signed_data, const std::vector<Certificate>& trusted) {
  Pkcs7Ptr p7 = BS_TRY(parse_p7(der_bytes));
  STACK_OF(PKCS7_SIGNER_INFO)* sis = PKCS7_get_signer_info(p7.get());
  if (sk_PKCS7_SIGNER_INFO_num(sis) <= 0) return input_error("PKCS#7 SignedData has no signer");
  // Verify against signed_data as detached content (drop any embedded copy,
  // as sbverify does: OpenSSL refuses content and data together).
  PKCS7* c = p7->d.sign->contents;
  if (PKCS7_type_is_data(c)) {
    ASN1_OCTET_STRING_free(c->d.data);
    c->d.data = nullptr;
  } else {
    ASN1_TYPE_free(c->d.other);
    c->d.other = nullptr;
  }
  // Unknown digest algorithms make PKCS7_verify fail on a path that leaks a
  // BIO in OpenSSL 3.0: refuse them first.
  STACK_OF(X509_ALGOR)* mds = p7->d.sign->md_algs;
  for (int i = 0; i < sk_X509_ALGOR_num(mds); i++)
    if (!EVP_get_digestbyobj(sk_X509_ALGOR_value(mds, i)->algorithm))
      return input_error("PKCS#7: unsupported digest algorithm {}", oid_text(sk_X509_ALGOR_value(mds, i)->algorithm));
  for (int i = 0; i < sk_PKCS7_SIGNER_INFO_num(sis); i++) {
    PKCS7_SIGNER_INFO* si = sk_PKCS7_SIGNER_INFO_value(sis, i);
    if (!EVP_get_digestbyobj(si->digest_alg->algorithm))
      return input_error("PKCS#7: unsupported digest algorithm {}", oid_text(si->digest_alg->algorithm));
  }
  X509StackPtr extra(sk_X509_new_null());
  for (const Certificate& t : trusted) sk_X509_push(extra.get(), x509_of(t));
  StorePtr empty(X509_STORE_new());
  BioPtr in(BIO_new_mem_buf(signed_data.data(), static_cast<int>(signed_data.size())));
  ERR_clear_error();
  if (PKCS7_verify(p7.get(), extra.get(), empty.get(), in.get(), nullptr, PKCS7_NOVERIFY | PKCS7_BINARY) != 1) {
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_REASON(e);
    std::string detail = openssl_error();
    if (reason == PKCS7_R_DIGEST_FAILURE)
      return check_error("the signed message digest does not match the signed content");
    if (reason == PKCS7_R_SIGNATURE_FAILURE)
      return check_error("the signature does not verify with the signer's certificate");
    if (reason == PKCS7_R_SIGNER_CERTIFICATE_NOT_FOUND)
      return check_error("the signer's certificate is neither embedded nor given");
    return check_error("PKCS#7 verification failed: {}", detail);
  }
  // Chain each signer to a trusted certificate.
  STACK_OF(X509)* signers = PKCS7_get0_signers(p7.get(), extra.get(), 0);
  X509StackPtr signers_owner(signers);
  StorePtr store(X509_STORE_new());
  for (const Certificate& t : trusted) X509_STORE_add_cert(store.get(), x509_of(t));
  for (int i = 0; i < sk_X509_num(signers); i++) {
    X509* s = sk_X509_value(signers, i);
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), s, p7->d.sign->cert);
    X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_ANY);
    if (X509_verify_cert(ctx.get()) != 1) {
      int err = X509_STORE_CTX_get_error(ctx.get());
      ERR_clear_error();
      std::string given;
      for (const Certificate& t : trusted) given += (given.empty() ? "" : ", ") + ("'" + t.subject() + "'");
      return check_error("wrong signer: signed by '{}', which does not chain to the given certificate {} ({})",
                         name_line(X509_get_subject_name(s)), given, X509_verify_cert_error_string(err));
    }
  }
  return {};
}

}  // namespace bootseal::crypto
