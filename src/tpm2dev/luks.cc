#include "tpm2dev/luks.h"

#include <libcryptsetup.h>

#include <cstring>

#include "tpm2/token.h"

namespace bootseal::tpm2dev {

namespace {
std::string errstr(int r) { return std::strerror(r < 0 ? -r : r); }
void quiet_log(int, const char*, void*) {}
}  // namespace

struct Luks2::Impl {
  crypt_device* cd = nullptr;
  ~Impl() {
    if (cd) crypt_free(cd);
  }
};

Luks2::Luks2(std::unique_ptr<Impl> impl, std::string path) : impl_(std::move(impl)), path_(std::move(path)) {}
Luks2::~Luks2() = default;
Luks2::Luks2(Luks2&&) noexcept = default;
Luks2& Luks2::operator=(Luks2&&) noexcept = default;

Result<std::unique_ptr<Luks2::Impl>> Luks2::init_device(const std::string& path) {
  static bool once = [] {
    crypt_token_external_disable();
    crypt_set_log_callback(nullptr, quiet_log, nullptr);
    return true;
  }();
  (void)once;
  auto impl = std::make_unique<Impl>();
  int r = crypt_init(&impl->cd, path.c_str());
  if (r < 0) {
    impl->cd = nullptr;
    return sys_error(path, -r);
  }
  crypt_set_log_callback(impl->cd, quiet_log, nullptr);
  return impl;
}

Result<Luks2> Luks2::open(const std::string& path) {
  auto impl = BS_TRY(init_device(path));
  int r = crypt_load(impl->cd, CRYPT_LUKS2, nullptr);
  if (r < 0) return input_error("{}: not a LUKS2 device ({})", path, errstr(r));
  return Luks2(std::move(impl), path);
}

Result<Luks2> Luks2::format(const std::string& path, ByteSpan vk, const std::string& uuid, const std::string& label) {
  auto impl = BS_TRY(init_device(path));
  int r = 0;
  // The volume-key digest with systemd's minimal PBKDF (the key is 512 random bits): a
  // benchmarked digest costs seconds in a slow guest (measured: 11 s per check under TCG).
  crypt_pbkdf_type pbkdf{};
  pbkdf.type = CRYPT_KDF_PBKDF2;
  pbkdf.hash = "sha512";
  pbkdf.iterations = 1000;
  pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
  r = crypt_set_pbkdf_type(impl->cd, &pbkdf);
  if (r < 0) return sys_error(fmt::format("{}: setting the PBKDF", path), -r);
  crypt_params_luks2 params{};
  params.pbkdf = &pbkdf;
  params.sector_size = 512;
  params.label = label.empty() ? nullptr : label.c_str();
  r = crypt_format(impl->cd, CRYPT_LUKS2, "aes", "xts-plain64", uuid.empty() ? nullptr : uuid.c_str(),
                   reinterpret_cast<const char*>(vk.data()), vk.size(), &params);
  if (r < 0) return sys_error(fmt::format("{}: writing a LUKS2 header", path), -r);
  return Luks2(std::move(impl), path);
}

uint64_t Luks2::data_offset() const { return crypt_get_data_offset(impl_->cd) * 512; }
uint32_t Luks2::sector_size() const {
  int s = crypt_get_sector_size(impl_->cd);
  return s > 0 ? static_cast<uint32_t>(s) : 512;
}
std::string Luks2::cipher() const {
  const char* c = crypt_get_cipher(impl_->cd);
  const char* m = crypt_get_cipher_mode(impl_->cd);
  return fmt::format("{}-{}", c ? c : "", m ? m : "");
}

std::string Luks2::uuid() const {
  const char* u = crypt_get_uuid(impl_->cd);
  return u ? u : "";
}

Result<std::vector<TokenInfo>> Luks2::tokens() const {
  std::vector<TokenInfo> out;
  for (int id = 0; id < 32; id++) {
    const char* json = nullptr;
    if (crypt_token_json_get(impl_->cd, id, &json) < 0 || !json) continue;
    TokenInfo t;
    t.id = id;
    t.json = json;
    auto hdr = tpm2::parse_token_header(t.json);
    if (!hdr.ok()) return std::move(hdr).error().context(fmt::format("{}: token {}", path_, id));
    t.type = hdr->type;
    t.keyslots = hdr->keyslots;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<int> Luks2::active_keyslots() const {
  std::vector<int> out;
  int max = crypt_keyslot_max(CRYPT_LUKS2);
  for (int i = 0; i < max; i++) {
    auto s = crypt_keyslot_status(impl_->cd, i);
    if (s == CRYPT_SLOT_ACTIVE || s == CRYPT_SLOT_ACTIVE_LAST) out.push_back(i);
  }
  return out;
}

Result<int> Luks2::check_passphrase(std::string_view pass, int slot) {
  int r = crypt_activate_by_passphrase(impl_->cd, nullptr, slot < 0 ? CRYPT_ANY_SLOT : slot, pass.data(), pass.size(), 0);
  if (r == -EPERM) return check_error("{}: no keyslot accepts the key", path_);
  if (r < 0) return sys_error(fmt::format("{}: checking the key", path_), -r);
  return r;
}

Result<Bytes> Luks2::volume_key(std::string_view pass) {
  int size = crypt_get_volume_key_size(impl_->cd);
  if (size <= 0) return input_error("{}: no volume key size", path_);
  Bytes vk(static_cast<size_t>(size));
  size_t vks = vk.size();
  int r = crypt_volume_key_get(impl_->cd, CRYPT_ANY_SLOT, reinterpret_cast<char*>(vk.data()), &vks, pass.data(),
                               pass.size());
  if (r == -EPERM) return check_error("{}: the unlock key opens no keyslot", path_);
  if (r < 0) return sys_error(fmt::format("{}: reading the volume key", path_), -r);
  vk.resize(vks);
  return vk;
}

Result<int> Luks2::add_keyslot(ByteSpan vk, std::string_view pass) {
  crypt_pbkdf_type pbkdf{};
  pbkdf.type = CRYPT_KDF_PBKDF2;
  pbkdf.hash = "sha512";
  pbkdf.iterations = 1000;
  pbkdf.flags = CRYPT_PBKDF_NO_BENCHMARK;
  int r = crypt_set_pbkdf_type(impl_->cd, &pbkdf);
  if (r < 0) return sys_error(fmt::format("{}: setting the PBKDF", path_), -r);
  r = crypt_keyslot_add_by_volume_key(impl_->cd, CRYPT_ANY_SLOT, reinterpret_cast<const char*>(vk.data()), vk.size(),
                                      pass.data(), pass.size());
  if (r < 0) return sys_error(fmt::format("{}: adding a keyslot", path_), -r);
  return r;
}

Result<int> Luks2::add_passphrase_keyslot(ByteSpan vk, std::string_view pass) {
  crypt_pbkdf_type pbkdf{};
  pbkdf.type = CRYPT_KDF_ARGON2ID;
  pbkdf.hash = "sha256";
  pbkdf.time_ms = 2000;
  pbkdf.max_memory_kb = 1048576;
  pbkdf.parallel_threads = 4;
  int r = crypt_set_pbkdf_type(impl_->cd, &pbkdf);
  if (r < 0) return sys_error(fmt::format("{}: setting the PBKDF", path_), -r);
  r = crypt_keyslot_add_by_volume_key(impl_->cd, CRYPT_ANY_SLOT, reinterpret_cast<const char*>(vk.data()), vk.size(),
                                      pass.data(), pass.size());
  if (r < 0) return sys_error(fmt::format("{}: adding a passphrase keyslot", path_), -r);
  return r;
}

Status Luks2::activate(const std::string& name, ByteSpan vk) {
  crypt_volume_key_keyring(impl_->cd, 0);
  int r = crypt_activate_by_volume_key(impl_->cd, name.c_str(), reinterpret_cast<const char*>(vk.data()), vk.size(), 0);
  if (r < 0) return sys_error(fmt::format("{}: activating /dev/mapper/{} (dm-crypt)", path_, name), -r);
  return {};
}

Result<int> Luks2::add_token(const std::string& json) {
  int r = crypt_token_json_set(impl_->cd, CRYPT_ANY_TOKEN, json.c_str());
  if (r < 0) return sys_error(fmt::format("{}: adding a token", path_), -r);
  return r;
}

Status Luks2::destroy_keyslot(int slot) {
  int r = crypt_keyslot_destroy(impl_->cd, slot);
  if (r < 0) return sys_error(fmt::format("{}: removing keyslot {}", path_, slot), -r);
  return {};
}

Status Luks2::remove_token(int id) {
  int r = crypt_token_json_set(impl_->cd, id, nullptr);
  if (r < 0) return sys_error(fmt::format("{}: removing token {}", path_, id), -r);
  return {};
}

}  // namespace bootseal::tpm2dev
