#include "tpm2dev/tpm.h"

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <cstdlib>
#include <cstring>

#include "base/hex.h"
#include "crypto/pem.h"
#include "tpm2/pcr.h"
#include "tpm2/policy.h"

namespace bootseal::tpm2dev {

using crypto::HashAlg;

namespace {

// TPM response codes without the handle/session/parameter number (TPM 2.0 Part 2, 6.6).
uint32_t rc_base(TSS2_RC rc) {
  if (rc & TPM2_RC_FMT1) return rc & (TPM2_RC_FMT1 | 0x3F);
  return rc & 0xFFFF;
}
bool is_tpm_rc(TSS2_RC rc) { return (rc >> TSS2_RC_LAYER_SHIFT) == 0; }

Error tss_error(std::string_view what, TSS2_RC rc) {
  if (is_tpm_rc(rc)) {
    uint32_t b = rc_base(rc);
    if (b == TPM2_RC_LOCKOUT)
      return check_error("{}: the TPM is in dictionary-attack lockout (too many failed authorizations; wait or clear it "
                         "with the lockout authorization)",
                         what);
  }
  return check_error("{}: {} (0x{:x})", what, Tss2_RC_Decode(rc), rc);
}

template <typename T>
struct EsysFree {
  void operator()(T* p) const { Esys_Free(p); }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFree<T>>;

TPMI_ALG_HASH tpm_alg(HashAlg a) { return tpm2::alg_id(a); }

TPMT_SYM_DEF aes128cfb() {
  TPMT_SYM_DEF s{};
  s.algorithm = TPM2_ALG_AES;
  s.keyBits.aes = 128;
  s.mode.aes = TPM2_ALG_CFB;
  return s;
}

// systemd's tpm2_get_srk_template(TPM2_ALG_ECC) (TCG EK/SRK provisioning guidance 7.5.1):
// ECC P-256, sha256, AES-128-CFB, restricted|decrypt|noDA...
TPM2B_PUBLIC srk_template(bool no_da) {
  TPM2B_PUBLIC t{};
  t.publicArea.type = TPM2_ALG_ECC;
  t.publicArea.nameAlg = TPM2_ALG_SHA256;
  t.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                  TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
                                  (no_da ? TPMA_OBJECT_NODA : 0);
  auto& e = t.publicArea.parameters.eccDetail;
  e.symmetric.algorithm = TPM2_ALG_AES;
  e.symmetric.keyBits.aes = 128;
  e.symmetric.mode.aes = TPM2_ALG_CFB;
  e.scheme.scheme = TPM2_ALG_NULL;
  e.curveID = TPM2_ECC_NIST_P256;
  e.kdf.scheme = TPM2_ALG_NULL;
  return t;
}

template <typename T>
bool copy_into(T& dst_buffer, uint16_t& dst_size, ByteSpan src) {
  if (src.size() > sizeof(dst_buffer)) return false;
  std::memcpy(dst_buffer, src.data(), src.size());
  dst_size = static_cast<uint16_t>(src.size());
  return true;
}

}  // namespace

Result<std::string> tcti_config(std::string_view spec) {
  if (spec.empty() || spec == "auto") return std::string("device:/dev/tpmrm0");
  for (std::string_view p : {"device:", "swtpm:", "mssim:"})
    if (spec.substr(0, p.size()) == p) return std::string(spec);
  if (spec.front() == '/') return "device:" + std::string(spec);
  return usage_error("--tpm2-device {}: expected auto, device:PATH, swtpm:host=H,port=P or mssim:host=H,port=P", spec);
}

struct Tpm::Impl {
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  ESYS_CONTEXT* esys = nullptr;
  ~Impl() {
    if (esys) Esys_Finalize(&esys);
    if (tcti) Tss2_TctiLdr_Finalize(&tcti);
  }

  // Transient objects and sessions flushed at scope end (there is no resource manager on swtpm).
  struct Flush {
    ESYS_CONTEXT* esys;
    ESYS_TR h = ESYS_TR_NONE;
    ~Flush() {
      if (h != ESYS_TR_NONE) Esys_FlushContext(esys, h);
    }
  };
  struct Close {
    ESYS_CONTEXT* esys;
    ESYS_TR h = ESYS_TR_NONE;
    ~Close() {
      if (h != ESYS_TR_NONE) Esys_TR_Close(esys, &h);
    }
  };

  Result<ESYS_TR> srk(bool create, Close& out) {
    TSS2_RC rc = Esys_TR_FromTPMPublic(esys, kSrkHandle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &out.h);
    if (rc == TSS2_RC_SUCCESS) return out.h;
    out.h = ESYS_TR_NONE;
    if (!is_tpm_rc(rc) || rc_base(rc) != TPM2_RC_HANDLE) return tss_error("reading the SRK at 0x81000001", rc);
    if (!create)
      return check_error(
          "the TPM has no SRK at 0x81000001 (the key was sealed under it: the TPM was cleared, or this is another TPM)");
    TPM2B_SENSITIVE_CREATE sens{};
    TPM2B_PUBLIC tmpl = srk_template(true);
    TPM2B_DATA outside{};
    TPML_PCR_SELECTION pcrs{};
    ESYS_TR primary = ESYS_TR_NONE;
    rc = Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
                            &outside, &pcrs, &primary, nullptr, nullptr, nullptr, nullptr);
    if (rc) return tss_error("creating the SRK (owner hierarchy)", rc);
    Flush fp{esys, primary};
    rc = Esys_EvictControl(esys, ESYS_TR_RH_OWNER, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, kSrkHandle,
                           &out.h);
    if (rc) {
      out.h = ESYS_TR_NONE;
      return tss_error("persisting the SRK at 0x81000001", rc);
    }
    return out.h;
  }

  Result<ESYS_TR> session(ESYS_TR tpm_key, ESYS_TR bind, TPM2_SE type, Flush& out) {
    TPMT_SYM_DEF sym = aes128cfb();
    TSS2_RC rc = Esys_StartAuthSession(esys, tpm_key, bind, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nullptr, type, &sym,
                                       TPM2_ALG_SHA256, &out.h);
    if (rc) {
      out.h = ESYS_TR_NONE;
      return tss_error(type == TPM2_SE_POLICY ? "starting a policy session" : "starting an encryption session", rc);
    }
    if (type == TPM2_SE_HMAC) {
      rc = Esys_TRSess_SetAttributes(esys, out.h, TPMA_SESSION_DECRYPT | TPMA_SESSION_ENCRYPT | TPMA_SESSION_CONTINUESESSION,
                                     0xff);
      if (rc) return tss_error("setting session attributes", rc);
    }
    return out.h;
  }

  Result<Bytes> policy_digest(ESYS_TR s) {
    TPM2B_DIGEST* d = nullptr;
    TSS2_RC rc = Esys_PolicyGetDigest(esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &d);
    if (rc) return tss_error("reading the policy digest", rc);
    EsysPtr<TPM2B_DIGEST> g(d);
    return Bytes(d->buffer, d->buffer + d->size);
  }

  Result<bool> policy_pcr(ESYS_TR s, HashAlg bank, uint32_t mask) {
    TPML_PCR_SELECTION sel{};
    sel.count = 1;
    sel.pcrSelections[0].hash = tpm_alg(bank);
    sel.pcrSelections[0].sizeofSelect = tpm2::kPcrSelectSize;
    for (unsigned i = 0; i < 3; i++) sel.pcrSelections[0].pcrSelect[i] = static_cast<uint8_t>(mask >> (8 * i));
    TPM2B_DIGEST empty{};
    TSS2_RC rc = Esys_PolicyPCR(esys, s, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &empty, &sel);
    if (rc) return tss_error("TPM2_PolicyPCR", rc);
    return true;
  }
};

Tpm::Tpm(std::unique_ptr<Impl> impl, std::string tcti) : impl_(std::move(impl)), tcti_(std::move(tcti)) {}
Tpm::~Tpm() = default;
Tpm::Tpm(Tpm&&) noexcept = default;
Tpm& Tpm::operator=(Tpm&&) noexcept = default;

Result<Tpm> Tpm::open(std::string_view spec) {
  std::string conf = BS_TRY(tcti_config(spec));
  // The TSS logs every failed command to stderr; our errors say it in one line instead.
  setenv("TSS2_LOG", "all+none", 0);
  auto impl = std::make_unique<Impl>();
  TSS2_RC rc = Tss2_TctiLdr_Initialize(conf.c_str(), &impl->tcti);
  if (rc) {
    impl->tcti = nullptr;
    return check_error("no TPM at {} ({})", conf, Tss2_RC_Decode(rc));
  }
  rc = Esys_Initialize(&impl->esys, impl->tcti, nullptr);
  if (rc) {
    impl->esys = nullptr;
    return tss_error(fmt::format("TPM {}", conf), rc);
  }
  // A TPM that nobody started (a bare simulator) needs TPM2_Startup; one that was is fine.
  rc = Esys_Startup(impl->esys, TPM2_SU_CLEAR);
  if (rc && !(is_tpm_rc(rc) && rc_base(rc) == TPM2_RC_INITIALIZE))
    return tss_error(fmt::format("TPM {}: startup", conf), rc);
  return Tpm(std::move(impl), conf);
}

Result<std::vector<Bytes>> Tpm::read_pcrs(HashAlg bank, uint32_t mask) {
  std::vector<Bytes> out;
  for (unsigned pcr : tpm2::pcrs_of_mask(mask)) {
    TPML_PCR_SELECTION sel{};
    sel.count = 1;
    sel.pcrSelections[0].hash = tpm_alg(bank);
    sel.pcrSelections[0].sizeofSelect = tpm2::kPcrSelectSize;
    sel.pcrSelections[0].pcrSelect[pcr / 8] = static_cast<uint8_t>(1u << (pcr % 8));
    UINT32 counter = 0;
    TPML_PCR_SELECTION* sel_out = nullptr;
    TPML_DIGEST* values = nullptr;
    TSS2_RC rc = Esys_PCR_Read(impl_->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &counter, &sel_out, &values);
    if (rc) return tss_error(fmt::format("reading PCR {}", pcr), rc);
    EsysPtr<TPML_PCR_SELECTION> g1(sel_out);
    EsysPtr<TPML_DIGEST> g2(values);
    if (values->count != 1)
      return check_error("the TPM has no {} bank for PCR {} (try another --tpm2-pcr-bank)", crypto::hash_name(bank), pcr);
    out.emplace_back(values->digests[0].buffer, values->digests[0].buffer + values->digests[0].size);
  }
  return out;
}

Status Tpm::extend(unsigned pcr, const std::vector<std::pair<HashAlg, Bytes>>& digests) {
  if (pcr > 23) return input_error("PCR {}: no such PCR", pcr);
  TPML_DIGEST_VALUES v{};
  for (auto& [alg, d] : digests) {
    if (v.count >= TPM2_NUM_PCR_BANKS || d.size() != crypto::digest_size(alg) || d.size() > sizeof(TPMU_HA))
      return input_error("PCR {}: bad {} digest", pcr, crypto::hash_name(alg));
    v.digests[v.count].hashAlg = tpm_alg(alg);
    std::memcpy(&v.digests[v.count].digest, d.data(), d.size());
    v.count++;
  }
  TSS2_RC rc = Esys_PCR_Extend(impl_->esys, static_cast<ESYS_TR>(ESYS_TR_PCR0 + pcr), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                               ESYS_TR_NONE, &v);
  if (rc) return tss_error(fmt::format("extending PCR {}", pcr), rc);
  return {};
}

Result<DaState> Tpm::da_state() {
  TPMI_YES_NO more = 0;
  TPMS_CAPABILITY_DATA* cap = nullptr;
  TSS2_RC rc = Esys_GetCapability(impl_->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                                  TPM2_PT_PERMANENT, 32, &more, &cap);
  if (rc) return tss_error("reading the TPM's dictionary-attack state", rc);
  EsysPtr<TPMS_CAPABILITY_DATA> g(cap);
  DaState s;
  for (UINT32 i = 0; i < cap->data.tpmProperties.count; i++) {
    auto& p = cap->data.tpmProperties.tpmProperty[i];
    if (p.property == TPM2_PT_PERMANENT) s.in_lockout = p.value & TPMA_PERMANENT_INLOCKOUT;
    if (p.property == TPM2_PT_LOCKOUT_COUNTER) s.lockout_counter = p.value;
    if (p.property == TPM2_PT_MAX_AUTH_FAIL) s.max_tries = p.value;
  }
  return s;
}

Result<Bytes> Tpm::srk_serialized(bool create) {
  Impl::Close c{impl_->esys};
  ESYS_TR h = BS_TRY(impl_->srk(create, c));
  uint8_t* buf = nullptr;
  size_t size = 0;
  TSS2_RC rc = Esys_TR_Serialize(impl_->esys, h, &buf, &size);
  if (rc) return tss_error("serializing the SRK", rc);
  Bytes out(buf, buf + size);
  Esys_Free(buf);
  return out;
}

Result<Bytes> Tpm::srk_public() {
  Impl::Close c{impl_->esys};
  ESYS_TR h = BS_TRY(impl_->srk(true, c));
  TPM2B_PUBLIC* pub = nullptr;
  TSS2_RC rc = Esys_ReadPublic(impl_->esys, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, nullptr, nullptr);
  if (rc) return tss_error("reading the SRK's public area", rc);
  EsysPtr<TPM2B_PUBLIC> g(pub);
  Bytes out(sizeof(TPM2B_PUBLIC));
  size_t off = 0;
  rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, out.data(), out.size(), &off);
  if (rc) return tss_error("marshalling the SRK's public area", rc);
  out.resize(off);
  return out;
}

Result<SealResult> Tpm::seal(ByteSpan policy, ByteSpan secret, std::optional<Bytes> auth) {
  auto* esys = impl_->esys;
  Impl::Close srk{esys};
  ESYS_TR primary = BS_TRY(impl_->srk(true, srk));
  Impl::Flush enc{esys};
  BS_TRY(impl_->session(primary, ESYS_TR_NONE, TPM2_SE_HMAC, enc));

  TPM2B_SENSITIVE_CREATE sens{};
  if (!copy_into(sens.sensitive.data.buffer, sens.sensitive.data.size, secret))
    return internal_error("seal: secret too large");
  if (auth && !copy_into(sens.sensitive.userAuth.buffer, sens.sensitive.userAuth.size, *auth))
    return internal_error("seal: authValue too large");
  TPM2B_PUBLIC pub{};
  pub.publicArea.type = TPM2_ALG_KEYEDHASH;
  pub.publicArea.nameAlg = TPM2_ALG_SHA256;
  pub.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT;  // policy only: no userWithAuth
  if (!copy_into(pub.publicArea.authPolicy.buffer, pub.publicArea.authPolicy.size, policy))
    return internal_error("seal: policy too large");
  pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
  TPM2B_DATA outside{};
  TPML_PCR_SELECTION creation_pcrs{};
  TPM2B_PRIVATE* out_priv = nullptr;
  TPM2B_PUBLIC* out_pub = nullptr;
  TSS2_RC rc = Esys_Create(esys, primary, enc.h, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &pub, &outside, &creation_pcrs,
                           &out_priv, &out_pub, nullptr, nullptr, nullptr);
  if (rc) return tss_error("sealing (TPM2_Create)", rc);
  EsysPtr<TPM2B_PRIVATE> g1(out_priv);
  EsysPtr<TPM2B_PUBLIC> g2(out_pub);
  SealResult r;
  r.blob.resize(sizeof(TPM2B_PRIVATE) + sizeof(TPM2B_PUBLIC));
  size_t off = 0;
  rc = Tss2_MU_TPM2B_PRIVATE_Marshal(out_priv, r.blob.data(), r.blob.size(), &off);
  if (!rc) rc = Tss2_MU_TPM2B_PUBLIC_Marshal(out_pub, r.blob.data(), r.blob.size(), &off);
  if (rc) return tss_error("marshalling the sealed object", rc);
  r.blob.resize(off);
  uint8_t* buf = nullptr;
  size_t size = 0;
  rc = Esys_TR_Serialize(esys, primary, &buf, &size);
  if (rc) return tss_error("serializing the SRK", rc);
  r.srk.assign(buf, buf + size);
  Esys_Free(buf);
  return r;
}

Result<Bytes> Tpm::unseal(const UnsealInput& in) {
  const tpm2::Tpm2Token& t = *in.token;
  auto* esys = impl_->esys;
  const HashAlg bank = t.pcr_bank.value_or(HashAlg::kSha256);
  if (t.pcrlock.value_or(false)) return unsupported_error("the token uses systemd-pcrlock (not supported)");
  if (t.blobs.size() != 1) return unsupported_error("the token has {} sealed shards (one is supported)", t.blobs.size());
  tpm2::SealedBlob blob = BS_TRY_CTX(tpm2::split_blob(t.blobs[0]), "token");

  // The parent: the persistent SRK the token names, or systemd's legacy transient primary.
  Impl::Close srk_close{esys};
  Impl::Flush legacy{esys};
  ESYS_TR primary = ESYS_TR_NONE;
  if (t.srk) {
    // Is the SRK there, and is it the key the token names? (FromTPMPublic reads the TPM;
    // the serialized object only describes what the token expects.)
    Bytes present_name;
    {
      Impl::Close present{esys};
      ESYS_TR h = BS_TRY(impl_->srk(false, present));
      TPM2B_NAME* n = nullptr;
      if (Esys_TR_GetName(esys, h, &n)) return internal_error("reading the SRK's name");
      EsysPtr<TPM2B_NAME> g(n);
      present_name.assign(n->name, n->name + n->size);
    }
    TSS2_RC rc = Esys_TR_Deserialize(esys, t.srk->data(), t.srk->size(), &srk_close.h);
    if (rc) {
      srk_close.h = ESYS_TR_NONE;
      return input_error("token: tpm2_srk is not a serialized TPM object ({})", Tss2_RC_Decode(rc));
    }
    primary = srk_close.h;
    TPM2B_NAME* n = nullptr;
    if (Esys_TR_GetName(esys, primary, &n)) return internal_error("reading the token's SRK name");
    EsysPtr<TPM2B_NAME> g(n);
    if (present_name != Bytes(n->name, n->name + n->size))
      return check_error("the SRK at 0x81000001 is not the one the token was sealed under (the TPM was cleared or "
                         "this is another TPM)");
  } else {
    if (t.primary_alg.value_or("ecc") != "ecc")
      return unsupported_error("the token uses a legacy RSA primary key (not supported)");
    TPM2B_SENSITIVE_CREATE sens{};
    TPM2B_PUBLIC tmpl = srk_template(false);
    TPM2B_DATA outside{};
    TPML_PCR_SELECTION pcrs{};
    TSS2_RC rc = Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sens, &tmpl,
                                    &outside, &pcrs, &legacy.h, nullptr, nullptr, nullptr, nullptr);
    if (rc) {
      legacy.h = ESYS_TR_NONE;
      return tss_error("creating the legacy primary key", rc);
    }
    primary = legacy.h;
  }

  TPM2B_PRIVATE priv{};
  TPM2B_PUBLIC pub{};
  size_t off = 0;
  if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob.private_part.data(), blob.private_part.size(), &off, &priv) ||
      off != blob.private_part.size())
    return input_error("token: tpm2-blob: bad TPM2B_PRIVATE");
  off = 0;
  if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob.public_part.data(), blob.public_part.size(), &off, &pub) ||
      off != blob.public_part.size())
    return input_error("token: tpm2-blob: bad TPM2B_PUBLIC");
  if (!blob.seed.empty()) {
    // Sealed offline for this TPM: import the duplicate under the SRK first.
    TPM2B_ENCRYPTED_SECRET seed{};
    off = 0;
    if (Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(blob.seed.data(), blob.seed.size(), &off, &seed) ||
        off != blob.seed.size())
      return input_error("token: tpm2-blob: bad import seed");
    TPM2B_DATA no_key{};
    TPMT_SYM_DEF_OBJECT no_inner{};
    no_inner.algorithm = TPM2_ALG_NULL;
    TPM2B_PRIVATE* imported = nullptr;
    TSS2_RC irc = Esys_Import(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &no_key, &pub, &priv, &seed,
                              &no_inner, &imported);
    if (irc)
      return tss_error("importing the offline-sealed key (was it sealed for this TPM's SRK?)", irc);
    priv = *imported;
    Esys_Free(imported);
  }
  Impl::Flush obj{esys};
  TSS2_RC rc = Esys_Load(esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &priv, &pub, &obj.h);
  if (rc) {
    obj.h = ESYS_TR_NONE;
    return tss_error("loading the sealed key under the SRK", rc);
  }
  if (t.uses_pin()) {
    if (!in.pin && !in.policy_only) return input_error("the token needs a PIN (--pin)");
    Bytes auth = tpm2::pin_auth_value(in.pin.value_or(""), t.salt.value_or(Bytes{}));
    TPM2B_AUTH a{};
    copy_into(a.buffer, a.size, auth);
    rc = Esys_TR_SetAuth(esys, obj.h, &a);
    if (rc) return tss_error("setting the PIN", rc);
  }
  Impl::Flush enc{esys};
  BS_TRY(impl_->session(primary, t.uses_pin() ? obj.h : ESYS_TR_NONE, TPM2_SE_HMAC, enc));
  Impl::Flush pol{esys};
  BS_TRY(impl_->session(primary, ESYS_TR_NONE, TPM2_SE_POLICY, pol));

  if (uint32_t mask = t.pubkey_pcr_mask()) {
    if (!in.signature)
      return check_error("the token binds a signed PCR policy but no PCR signature was found (give --signature)");
    BS_TRY(impl_->policy_pcr(pol.h, bank, mask));
    Bytes current = BS_TRY(impl_->policy_digest(pol.h));
    Bytes spki = BS_TRY_CTX(crypto::public_key_der_from_pem(as_bytes(*t.pubkey_pem), "token"), "token: tpm2_pubkey");
    Bytes pkfp = BS_TRY_CTX(tpm2::public_key_fingerprint(spki), "token: tpm2_pubkey");
    tpm2::PcrSignature sig = BS_TRY_CTX(tpm2::find_signature(*in.signature, bank, mask, pkfp, current),
                                        "PCR signature {}", in.signature_what);
    tpm2::RsaPublic rsa = BS_TRY_CTX(tpm2::rsa_public_from_spki(spki), "token: tpm2_pubkey");
    TPM2B_PUBLIC kp{};
    kp.publicArea.type = TPM2_ALG_RSA;
    kp.publicArea.nameAlg = TPM2_ALG_SHA256;
    kp.publicArea.objectAttributes = TPMA_OBJECT_DECRYPT | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;
    kp.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    kp.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    kp.publicArea.parameters.rsaDetail.keyBits = static_cast<uint16_t>(rsa.modulus.size() * 8);
    kp.publicArea.parameters.rsaDetail.exponent = rsa.exponent;
    copy_into(kp.publicArea.unique.rsa.buffer, kp.publicArea.unique.rsa.size, rsa.modulus);
    Impl::Flush key{esys};
    rc = Esys_LoadExternal(esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, nullptr, &kp, ESYS_TR_RH_OWNER, &key.h);
    if (rc) {
      key.h = ESYS_TR_NONE;
      return tss_error("loading the PCR public key", rc);
    }
    TPM2B_NAME* name = nullptr;
    if (Esys_TR_GetName(esys, key.h, &name)) return internal_error("reading the PCR key's name");
    EsysPtr<TPM2B_NAME> gn(name);
    TPM2B_DIGEST digest{};
    Bytes h = crypto::digest(HashAlg::kSha256, sig.pol);
    copy_into(digest.buffer, digest.size, h);
    TPMT_SIGNATURE s{};
    s.sigAlg = TPM2_ALG_RSASSA;
    s.signature.rsassa.hash = TPM2_ALG_SHA256;
    if (!copy_into(s.signature.rsassa.sig.buffer, s.signature.rsassa.sig.size, sig.sig))
      return check_error("PCR signature {}: signature too large", in.signature_what);
    TPMT_TK_VERIFIED* ticket = nullptr;
    rc = Esys_VerifySignature(esys, key.h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &s, &ticket);
    if (rc)
      return check_error("PCR signature {}: the TPM rejected the signature over policy {} with the token's PCR key "
                         "(tampered signature?): {}",
                         in.signature_what, to_hex(sig.pol), Tss2_RC_Decode(rc));
    EsysPtr<TPMT_TK_VERIFIED> gt(ticket);
    TPM2B_DIGEST approved{};
    copy_into(approved.buffer, approved.size, sig.pol);
    TPM2B_NONCE ref{};
    rc = Esys_PolicyAuthorize(esys, pol.h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &approved, &ref, name, ticket);
    if (rc) return tss_error("TPM2_PolicyAuthorize", rc);
  }
  if (uint32_t mask = tpm2::pcr_mask_of(t.pcrs)) BS_TRY(impl_->policy_pcr(pol.h, bank, mask));
  if (t.uses_pin()) {
    rc = Esys_PolicyAuthValue(esys, pol.h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE);
    if (rc) return tss_error("TPM2_PolicyAuthValue", rc);
  }
  Bytes final_digest = BS_TRY(impl_->policy_digest(pol.h));
  if (final_digest != t.policy_hashes[0])
    return check_error(
        "the current policy digest {} is not the token's tpm2-policy-hash {} (PCR {} changed, or the token was edited)",
        to_hex(final_digest), to_hex(t.policy_hashes[0]), fmt::join(t.pcrs, "+"));
  if (in.policy_only) return Bytes{};
  TPM2B_SENSITIVE_DATA* data = nullptr;
  rc = Esys_Unseal(esys, obj.h, pol.h, enc.h, ESYS_TR_NONE, &data);
  if (rc) {
    if (is_tpm_rc(rc) && rc_base(rc) == TPM2_RC_AUTH_FAIL) {
      auto da = da_state();
      return check_error("wrong PIN (the TPM's dictionary-attack counter is now {}{})",
                         da.ok() ? std::to_string(da->lockout_counter) : "unknown",
                         da.ok() && da->max_tries ? fmt::format(" of {}", da->max_tries) : "");
    }
    if (is_tpm_rc(rc) && rc_base(rc) == TPM2_RC_POLICY_FAIL)
      return check_error("the TPM refused to unseal: the sealed key's policy does not match the session ({})",
                         Tss2_RC_Decode(rc));
    return tss_error("unsealing", rc);
  }
  EsysPtr<TPM2B_SENSITIVE_DATA> gd(data);
  return Bytes(data->buffer, data->buffer + data->size);
}

}  // namespace bootseal::tpm2dev
