#include "crypto/x509.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "crypto/openssl_util.h"

namespace bootseal::crypto {

struct Certificate::Impl {
  X509Ptr x509;
};

X509* x509_of(const Certificate& c) { return c.impl().x509.get(); }

static std::string name_string(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

static int64_t asn1_time_to_unix(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Result<Certificate> Certificate::from_der(ByteSpan der, std::string_view what) {
  const uint8_t* p = der.data();
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!x) return input_error("{}: not an X.509 certificate ({})", what, openssl_error());
  Certificate c;
  c.impl_ = std::make_shared<Impl>();
  c.impl_->x509.reset(x);
  c.der_.assign(der.begin(), der.begin() + (p - der.data()));
  return c;
}

Result<Certificate> Certificate::load(ByteSpan data, std::string_view what) {
  if (data.size() > INT32_MAX) return input_error("{}: too large for a certificate", what);
  std::string_view text = as_string(data);
  if (text.find("-----BEGIN") != std::string_view::npos) {
    BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!x) return input_error("{}: no PEM certificate found ({})", what, openssl_error());
    X509Ptr owner(x);
    int n = i2d_X509(x, nullptr);
    Bytes der(static_cast<size_t>(n));
    uint8_t* p = der.data();
    i2d_X509(x, &p);
    return from_der(der, what);
  }
  return from_der(data, what);
}

Result<std::vector<Certificate>> Certificate::load_all(ByteSpan data, std::string_view what) {
  std::vector<Certificate> out;
  std::string_view text = as_string(data);
  if (text.find("-----BEGIN") == std::string_view::npos) {
    out.push_back(BS_TRY(from_der(data, what)));
    return out;
  }
  if (data.size() > INT32_MAX) return input_error("{}: too large for certificates", what);
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509Ptr owner(x);
    int n = i2d_X509(x, nullptr);
    Bytes der(static_cast<size_t>(n));
    uint8_t* p = der.data();
    i2d_X509(x, &p);
    out.push_back(BS_TRY(from_der(der, what)));
  }
  ERR_clear_error();  // the loop ends on "no start line"
  if (out.empty()) return input_error("{}: no PEM certificate found", what);
  return out;
}

std::string Certificate::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), impl_->x509.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string Certificate::subject() const { return name_string(X509_get_subject_name(impl_->x509.get())); }
std::string Certificate::issuer() const { return name_string(X509_get_issuer_name(impl_->x509.get())); }

std::string Certificate::serial_hex() const {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(impl_->x509.get()), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out(hex ? hex : "");
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

int64_t Certificate::not_before() const { return asn1_time_to_unix(X509_get0_notBefore(impl_->x509.get())); }
int64_t Certificate::not_after() const { return asn1_time_to_unix(X509_get0_notAfter(impl_->x509.get())); }

Bytes Certificate::public_key_der() const { return spki_der(X509_get0_pubkey(impl_->x509.get())); }

bool Certificate::has_extended_key_usage() const {
  return (X509_get_extension_flags(impl_->x509.get()) & EXFLAG_XKUSAGE) != 0;
}

bool Certificate::has_code_signing_usage() const {
  X509* x = impl_->x509.get();
  return has_extended_key_usage() && (X509_get_extended_key_usage(x) & XKU_CODE_SIGN) != 0;
}

std::string format_time(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// Parses "CN=a,O=b" or "/CN=a/O=b" into an X509_NAME (UTF-8 strings).
static Result<X509_NAME*> parse_name(std::string_view subject) {
  if (subject.empty()) return input_error("empty certificate subject");
  char sep = subject.front() == '/' ? '/' : ',';
  if (sep == '/') subject.remove_prefix(1);
  X509_NAME* name = X509_NAME_new();
  size_t i = 0;
  while (i < subject.size()) {
    size_t j = subject.find(sep, i);
    if (j == std::string_view::npos) j = subject.size();
    std::string_view part = subject.substr(i, j - i);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      X509_NAME_free(name);
      return input_error("invalid certificate subject component '{}' (expected KEY=VALUE)", part);
    }
    std::string key(part.substr(0, eq));
    std::string value(part.substr(eq + 1));
    if (!X509_NAME_add_entry_by_txt(name, key.c_str(), MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), -1, 0)) {
      X509_NAME_free(name);
      ERR_clear_error();
      return input_error("invalid certificate subject attribute '{}'", key);
    }
    i = j + 1;
  }
  return name;
}

static Status add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (!ext) return internal_error("certificate extension {}: {}", value, openssl_error());
  int ok = X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return internal_error("adding certificate extension: {}", openssl_error());
  return {};
}

Result<Certificate> make_self_signed(const PrivateKey& key, const CertificateProfile& profile) {
  EVP_PKEY* pkey = key.impl().pkey.get();
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  Bytes serial = profile.serial;
  if (serial.empty() || serial.size() > 20) return internal_error("certificate serial must be 1..20 bytes");
  serial[0] &= 0x7f;
  if (serial[0] == 0) serial[0] = 1;  // positive and minimal: no leading zero byte
  BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_NAME* name = BS_TRY(parse_name(profile.subject));
  X509_set_subject_name(x.get(), name);
  X509_set_issuer_name(x.get(), name);
  X509_NAME_free(name);
  if (!ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(profile.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(profile.not_after)))
    return internal_error("setting certificate validity: {}", openssl_error());
  X509_set_pubkey(x.get(), pkey);

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  BS_TRY(add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash"));
  BS_TRY(add_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (profile.ca) {
    BS_TRY(add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
    BS_TRY(add_ext(x.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"));
  } else {
    BS_TRY(add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    BS_TRY(add_ext(x.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
  }
  if (profile.code_signing) BS_TRY(add_ext(x.get(), &ctx, NID_ext_key_usage, "codeSigning"));
  if (X509_sign(x.get(), pkey, EVP_sha256()) <= 0) return internal_error("signing certificate: {}", openssl_error());
  int n = i2d_X509(x.get(), nullptr);
  Bytes der(static_cast<size_t>(n));
  uint8_t* p = der.data();
  i2d_X509(x.get(), &p);
  return Certificate::from_der(der, "new certificate");
}

}  // namespace bootseal::crypto
