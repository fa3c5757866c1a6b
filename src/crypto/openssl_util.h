// Internal to crypto/: owning pointers for OpenSSL objects and shared helpers.
// Not to be included outside src/crypto/.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <memory>

#include "base/bytes.h"
#include "crypto/hash.h"
#include "crypto/key.h"

namespace bootseal::crypto {

template <auto Fn>
struct OsslDeleter {
  template <typename T>
  void operator()(T* p) const {
    if (p) Fn(p);
  }
};
using BioPtr = std::unique_ptr<BIO, OsslDeleter<BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OsslDeleter<EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslDeleter<EVP_PKEY_CTX_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslDeleter<EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OsslDeleter<X509_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, OsslDeleter<PKCS7_free>>;
using StorePtr = std::unique_ptr<X509_STORE, OsslDeleter<X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OsslDeleter<X509_STORE_CTX_free>>;

struct PrivateKey::Impl {
  PkeyPtr pkey;
};

const EVP_MD* evp_md(HashAlg alg);
// The OpenSSL certificate behind a Certificate (owned by it).
X509* x509_of(const class Certificate& c);
Bytes spki_der(EVP_PKEY* pkey);

}  // namespace bootseal::crypto
